"""Delivery receipts: when the customer's channel accepts an employee's reply (a channel
that sends it sent it; the widget showed it on an open socket), the employee's own
message on the desk is marked delivered, once, however many sockets or instances saw
it (the desk's side: `DeskWork.mark_delivered`). A reply that cannot arrive is reported
in the thread instead (see delivery.py)."""

from __future__ import annotations

import asyncio
import logging

from bot.conversations import Conversations
from bot.jobs import MarkDelivered
from bot.outbox import Tx
from bot.store.messages import mark_delivered, mark_seen_up_to

log = logging.getLogger(__name__)


async def delivered(tx: Tx, message_ids: list[int]) -> int:
    """Record, in `tx`, that the customer's channel accepted these messages, and queue
    a receipt for each employee's reply among them not recorded before; how many."""
    if not message_ids:
        return 0
    return await _queue(tx, await mark_delivered(tx.connection, message_ids, tx.outbox.clock()))


async def _queue(tx: Tx, found: list[tuple[int, int]]) -> int:
    for message_id, conversation_id in found:
        # Its own lane: a receipt need not wait for the conversation's other jobs.
        await tx.enqueue(MarkDelivered(message_id), conversation_id=conversation_id, lane=None)
    return len(found)


async def shown(conversations: Conversations, message_ids: list[int]) -> int:
    """Messages a customer was shown (on the widget): their receipts, once."""
    async with conversations.transaction() as tx:
        return await delivered(tx, message_ids)


async def shown_up_to(conversations: Conversations, customer_id: int, up_to: int) -> int:
    """A widget came back saying it had shown every message up to `up_to`: receipts
    for the replies among them that have none (the instance that showed them may have
    stopped before it wrote them)."""
    async with conversations.transaction() as tx:
        now = tx.outbox.clock()
        return await _queue(tx, await mark_seen_up_to(tx.connection, customer_id, up_to, now))


class Receipts:
    """Receipts for messages shown on this instance's widget sockets, written in
    batches: what is shown while one batch is being written goes into the next, so a
    burst of replies shown at once costs one transaction, not one per socket. Nothing
    waits for them: a receipt only marks the employee's message on the desk."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self._waiting: list[int] = []
        self._writing: asyncio.Task[None] | None = None

    def shown(self, message_ids: list[int]) -> None:
        self._waiting += message_ids
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="widget-receipts")

    async def settled(self) -> None:
        """Wait until the receipts for what was shown so far are written."""
        while self._writing is not None and not self._writing.done():
            await asyncio.gather(self._writing, return_exceptions=True)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await shown(self.conversations, batch)
            except Exception:
                log.exception("delivery receipts not recorded", extra={"messages": batch})
