"""Delivery receipts: when the customer's channel accepts an employee's reply (a channel
that sends it sent it; the widget showed it on an open socket), the employee's own
message on the desk is marked delivered, once, however many sockets or instances saw
it (the desk's side: `DeskWork.mark_delivered`). A reply that cannot arrive is reported
in the thread instead (see delivery.py)."""

from __future__ import annotations

from bot.conversations import Conversations
from bot.jobs import MarkDelivered
from bot.outbox import Tx
from bot.store.messages import mark_delivered


async def delivered(tx: Tx, message_ids: list[int]) -> int:
    """Record, in `tx`, that the customer's channel accepted these messages, and queue
    a receipt for each employee's reply among them not recorded before; how many."""
    if not message_ids:
        return 0
    now = tx.outbox.clock()
    found = await mark_delivered(tx.connection, message_ids, now)
    for message_id, conversation_id in found:
        # Its own lane: a receipt need not wait for the conversation's other jobs.
        await tx.enqueue(MarkDelivered(message_id), conversation_id=conversation_id, lane=None)
    return len(found)


async def shown(conversations: Conversations, message_ids: list[int]) -> int:
    """Messages a customer was shown (on the widget): their receipts, once."""
    async with conversations.transaction() as tx:
        return await delivered(tx, message_ids)
