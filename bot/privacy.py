"""Data protection: everything stored about a customer, exported; a customer's data
erased (in the database at once, on the desk through the outbox); and message bodies
older than config.yml's `retention` erased once a day."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.conversations import Conversations
from bot.jobs import (
    AlertTeam,
    Deliver,
    EraseFromDesk,
    ExpireMessages,
    PostInThread,
    PostNote,
    Triage,
    encode,
    inbound_lane,
    kind_of,
)
from bot.outbox import Record, Tx, Work
from bot.store import privacy as stored
from bot.store import queue
from bot.store.privacy import ERASED
from bot.store.rows import key

log = logging.getLogger(__name__)

RETENTION_LANE = "retention"  # one expiry job at a time, across every instance
DAY = timedelta(days=1)
# What a contact's address is, per channel: an export should say what it holds.
ADDRESSES = {
    "web": "a SHA-256 hash of the token the visitor's browser keeps (the token itself "
    "is never stored)",
}
ADDRESS = "the channel's own id for the customer's chat"
# Jobs that would pass on what was erased: cancelled if still waiting.
_CANCEL = [kind_of(job) for job in (Triage, PostInThread, PostNote, Deliver, AlertTeam)]
# A note may quote a message; a note and an alert name the customer.
_SCRUB = dict([encode(PostNote(ERASED)), encode(AlertTeam("", ERASED))])


class UnknownCustomer(LookupError):
    """No customer has this id."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(f"no customer {customer_id}")
        self.customer_id = customer_id


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: in the database, now; on the desk, by the jobs it queued."""

    id: int  # the erasures row
    customer_id: int
    erased_at: datetime
    conversations: int
    messages: int
    contacts: int
    updates: int  # raw updates from their contacts, emptied
    closed: int  # conversations that were still open
    desk_jobs: int  # conversations whose desk threads are being replaced

    def describe(self) -> str:
        return (
            f"Erased customer {self.customer_id}: the text of {_count(self.messages, 'message')} "
            f"in {_count(self.conversations, 'conversation')} (kept without it, so reports "
            f"still count them), {_count(self.contacts, 'contact')} and "
            f"{_count(self.updates, 'raw update')} from them, their name and identity; "
            f"{_count(self.closed, 'open conversation')} closed. The app replaces what it "
            f"posted on the desk for {_count(self.desk_jobs, 'conversation')} (outbox jobs "
            "desk.erase)."
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


class Privacy:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.store = conversations.store

    async def export(self, customer_id: int) -> dict[str, Any]:
        """Everything stored about a customer, as JSON-ready values."""
        async with self.store.reading() as connection:
            found = await stored.everything(connection, customer_id)
        if found is None:
            raise UnknownCustomer(customer_id)
        for contact in found["contacts"]:
            contact["address_is"] = ADDRESSES.get(contact["channel"], ADDRESS)
        return {"exported_at": self.conversations.clock().isoformat(), **found}

    async def erase(self, customer_id: int, by: str) -> Erasure:
        """Erase a customer's data (see store.privacy.erase) and record that it
        happened; what the app posted on the desk is replaced by outbox jobs, in each
        conversation's lane (after the posts still waiting there). Erasing twice does
        no harm: the second finds nothing left, and the desk nothing to replace."""
        async with self.conversations.transaction() as tx:
            connection, now = tx.connection, self.conversations.clock()
            if not await stored.exists(connection, customer_id):
                raise UnknownCustomer(customer_id)
            erased = await stored.erase(
                connection, customer_id, now, cancel=_CANCEL, scrub=_SCRUB, lane_of=inbound_lane
            )
            on_desk = await stored.on_the_desk(connection, erased.conversations)
            for conversation_id in on_desk:
                await tx.enqueue(EraseFromDesk(), conversation_id=conversation_id)
            record = await stored.record(connection, customer_id, now, by)
        log.info("customer erased", extra={"customer": customer_id, "by": by})
        return Erasure(
            id=key(record),
            customer_id=customer_id,
            erased_at=now,
            conversations=len(erased.conversations),
            messages=erased.messages,
            contacts=erased.contacts,
            updates=erased.updates,
            closed=erased.closed,
            desk_jobs=len(on_desk),
        )

    async def schedule_retention(self) -> None:
        """With a retention period in the config, make sure the daily expiry job is
        queued (once, however many instances start or reload): it runs now, then once
        a day while there is a period."""
        if self.conversations.config().retention.messages is None:
            return
        async with self.conversations.transaction() as tx:
            if not await queue.pending_in(tx.connection, RETENTION_LANE):
                await tx.enqueue(ExpireMessages(), conversation_id=None, lane=RETENTION_LANE)

    async def expire(self, work: Work[ExpireMessages]) -> Record:
        """Erase the message bodies older than the retention period, and forget the
        raw updates and finished jobs as old; queue the next run a day later, with this
        one's completion (none once the period is gone from the config)."""
        now = self.conversations.clock()
        period = self.conversations.config().retention.messages

        async def record(tx: Tx) -> None:
            if period is None:
                return
            expired = await stored.expire(tx.connection, now - period)
            log.info("retention applied", extra={**expired, "days": period.days})
            await tx.enqueue(
                ExpireMessages(), conversation_id=None, lane=RETENTION_LANE, run_after=now + DAY
            )

        return record
