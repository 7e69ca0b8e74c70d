"""Everything stored about a customer, read out for an export, and erased: what they
wrote and were told, how to reach them and who they are go; that a conversation
happened (when, about what, with whom) stays, so reports still count it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Table,
    Text,
    and_,
    bindparam,
    delete,
    false,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnClause
from sqlmodel import SQLModel

from bot.store import Connection
from bot.store.rows import add, models
from bot.tables import (
    Erasure,
    Thread,
    assignments,
    contacts,
    conversations,
    customers,
    erasures,
    facts,
    inbox,
    link_codes,
    messages,
    outbox,
    suggestions,
    threads,
)

ERASED = "[erased]"  # what an erased message says

# The customer's columns that stay: they say nothing about who the customer is, and
# reports group by them. Every other column (name, e-mail, any added later) is erased.
_KEPT = {"id", "language", "tags", "created_at", "verified"}
_PENDING: ColumnClause[str] = literal_column("'pending'")
_FROM_THE_DESK = "desk"  # messages' source for what employees wrote: their ids stay


# Tables whose rows say nothing but something about the customer (what employees
# remember about them, their words suggested as training examples): deleted on
# erasure, with nothing left to count.
_ABOUT_THEM = {facts, suggestions}


def _also_theirs() -> list[Table]:
    """The other tables with a row per customer (their ratings, say): exported whole;
    erased of their free text (Text columns: the customer's own words), the rest (a
    score, a time) kept for reports; or, those in _ABOUT_THEM, deleted."""
    known = {customers, contacts, conversations, link_codes, erasures, inbox, outbox}
    return [t for t in SQLModel.metadata.sorted_tables if "customer_id" in t.c and t not in known]


@dataclass(frozen=True)
class Erased:
    """What an erasure changed."""

    conversations: list[int]  # all of the customer's, kept as rows
    messages: int
    contacts: int
    updates: int  # raw updates from their contacts, emptied
    link_codes: int
    closed: int  # conversations that were still open
    cancelled: int  # jobs that would have used what was erased


async def exists(connection: Connection, customer_id: int) -> bool:
    found = await connection.execute(select(customers.c.id).where(customers.c.id == customer_id))
    return found.first() is not None


async def everything(connection: Connection, customer_id: int) -> dict[str, Any] | None:
    """Every stored row about a customer, as JSON-ready values (None: no such customer).
    Each conversation carries its messages, assignments and desk threads."""
    row = (await connection.execute(select(customers).where(customers.c.id == customer_id))).first()
    if row is None:
        return None
    talks = await _rows(connection, conversations, conversations.c.customer_id == customer_id)
    ids = [c["id"] for c in talks]
    owned = {
        "messages": await _rows(connection, messages, messages.c.conversation_id.in_(ids)),
        "assignments": await _rows(connection, assignments, assignments.c.conversation_id.in_(ids)),
        "desk_threads": await _rows(connection, threads, threads.c.conversation_id.in_(ids)),
    }
    for talk in talks:
        for name, found in owned.items():
            talk[name] = [r for r in found if r["conversation_id"] == talk["id"]]
    reached = await _rows(connection, contacts, contacts.c.customer_id == customer_id)
    sent = [(c["channel"], c["address"]) for c in reached]
    return {
        "customer": _plain(row._mapping),
        "contacts": reached,
        "conversations": talks,
        "inbound": await _rows(connection, inbox, _sent_by(sent)),
        "link_codes": await _rows(connection, link_codes, link_codes.c.customer_id == customer_id),
        "erasures": await _rows(connection, erasures, erasures.c.customer_id == customer_id),
        **{t.name: await _rows(connection, t, t.c.customer_id == customer_id)
           for t in _also_theirs()},
    }  # fmt: skip


async def erase(
    connection: Connection,
    customer_id: int,
    now: datetime,
    *,
    cancel: Sequence[str],
    scrub: Mapping[str, dict[str, Any]],
    lane_of: Callable[[str, str], str],
) -> Erased:
    """Erase a customer's personal data: the bodies of every message in their
    conversations, their messages' attachments and channel ids, the entities triage
    collected, what employees remembered about them, their contacts, link codes and
    identity columns, the raw updates they sent (kept, empty, so that a repeat is still
    recognised). Conversations still open are closed. Pending jobs of the kinds in
    `cancel`, and those handling their updates
    (in the lanes `lane_of` names for each contact), are cancelled; the payloads of
    their conversations' jobs of the kinds in `scrub` are replaced (they may quote a
    message)."""
    found = await connection.execute(
        select(conversations.c.id).where(conversations.c.customer_id == customer_id)
    )
    ids = list(found.scalars())
    found = await connection.execute(
        select(contacts.c.channel, contacts.c.address).where(contacts.c.customer_id == customer_id)
    )
    sent = [(row.channel, row.address) for row in found.all()]
    updates = await connection.execute(
        update(inbox).where(_sent_by(sent)).values(payload={}, sender=None)
    )
    lanes = outbox.c.lane.in_([lane_of(channel, address) for channel, address in sent])
    cancelled = await _cancel(connection, lanes, now)
    await connection.execute(update(outbox).where(lanes).values(lane=None))  # it names them
    cancelled += await _cancel(
        connection, outbox.c.conversation_id.in_(ids) & outbox.c.kind.in_(list(cancel)), now
    )
    for kind, payload in scrub.items():
        await connection.execute(
            update(outbox)
            .where(outbox.c.conversation_id.in_(ids), outbox.c.kind == kind)
            .values(payload=payload)
        )
    identity = {c.name: None for c in customers.c if c.name not in _KEPT}
    for other in _also_theirs():
        if other in _ABOUT_THEM:
            await connection.execute(delete(other).where(other.c.customer_id == customer_id))
        elif words := {c.name: None for c in other.c if isinstance(c.type, Text)}:
            await connection.execute(
                update(other).where(other.c.customer_id == customer_id).values(words)
            )
    await connection.execute(
        update(customers).where(customers.c.id == customer_id).values(identity)
    )
    await connection.execute(delete(contacts).where(contacts.c.customer_id == customer_id))
    codes = await connection.execute(
        delete(link_codes).where(link_codes.c.customer_id == customer_id)
    )
    theirs = messages.c.conversation_id.in_(ids)
    bodies = await connection.execute(update(messages).where(theirs).values(body=ERASED))
    await connection.execute(
        update(messages)
        .where(theirs, messages.c.source != _FROM_THE_DESK)
        .values(details={}, source_id=None)
    )
    await connection.execute(
        update(conversations).where(conversations.c.id.in_(ids)).values(entities={})
    )
    return Erased(
        conversations=ids,
        messages=bodies.rowcount,
        contacts=len(sent),
        updates=updates.rowcount,
        link_codes=codes.rowcount,
        closed=await _close(connection, ids, now),
        cancelled=cancelled,
    )


async def _close(connection: Connection, conversation_ids: Sequence[int], now: datetime) -> int:
    """Close those of these conversations still open; how many there were."""
    still_open = conversations.c.id.in_(list(conversation_ids)) & (
        conversations.c.status != "closed"
    )
    await connection.execute(
        update(assignments)
        .where(assignments.c.conversation_id.in_(select(conversations.c.id).where(still_open)))
        .where(assignments.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    closed = await connection.execute(
        update(conversations).where(still_open).values(status="closed", closed_at=now)
    )
    return closed.rowcount


async def _cancel(connection: Connection, which: Any, now: datetime) -> int:
    """Cancel the pending jobs `which` selects; how many there were."""
    cancelled = await connection.execute(
        update(outbox)
        .where(which, outbox.c.status == _PENDING)
        .values(status="cancelled", finished_at=now, locked_until=None,
                last_error="cancelled: the customer's data was erased")
    )  # fmt: skip
    return cancelled.rowcount


def _sent_by(senders: Sequence[tuple[str, str]]) -> Any:
    """Inbox rows from these (channel, address) pairs."""
    return or_(false(), *(and_(inbox.c.channel == c, inbox.c.sender == a) for c, a in senders))


async def on_the_desk(connection: Connection, conversation_ids: Sequence[int]) -> list[int]:
    """Those of these conversations that were ever given to someone (and so may have
    cards on the desk, or be about to)."""
    found = await connection.execute(
        select(assignments.c.conversation_id)
        .where(assignments.c.conversation_id.in_(list(conversation_ids)))
        .distinct()
        .order_by(assignments.c.conversation_id)
    )
    return list(found.scalars())


async def desk_threads(connection: Connection, conversation_id: int) -> list[Thread]:
    """Every thread the conversation has had on the desk, oldest first."""
    found = await connection.execute(
        select(threads).where(threads.c.conversation_id == conversation_id).order_by(threads.c.id)
    )
    return models(Thread, found.all())


async def record(connection: Connection, customer_id: int, now: datetime, by: str) -> Erasure:
    return await add(connection, Erasure(customer_id=customer_id, erased_at=now, by=by))


_EXPIRE = (
    update(messages)
    .where(messages.c.created_at < bindparam("before"), messages.c.body != ERASED)
    .values(body=ERASED, details={})
)


_FORGET_UPDATES = delete(inbox).where(inbox.c.received_at < bindparam("before"))
_FORGET_JOBS = delete(outbox).where(
    outbox.c.created_at < bindparam("before"), outbox.c.status != _PENDING
)
_FORGET_SUGGESTIONS = delete(suggestions).where(suggestions.c.created_at < bindparam("before"))


async def expire(connection: Connection, before: datetime) -> dict[str, int]:
    """Erase the bodies and attachments of the messages written before `before`, and
    delete the raw updates received, the jobs finished and the training examples
    suggested before then (which may hold a message too); how many of each."""
    return {
        "messages": (await connection.execute(_EXPIRE, {"before": before})).rowcount,
        # Channels repeat an update within hours: a retention of days forgets no key
        # that still stops a repeat.
        "updates": (await connection.execute(_FORGET_UPDATES, {"before": before})).rowcount,
        "jobs": (await connection.execute(_FORGET_JOBS, {"before": before})).rowcount,
        "suggestions": (await connection.execute(_FORGET_SUGGESTIONS, {"before": before})).rowcount,
    }


async def _rows(connection: Connection, target: Table, where: Any) -> list[dict[str, Any]]:
    found = await connection.execute(select(target).where(where).order_by(target.c[_order(target)]))
    return [_plain(row._mapping) for row in found.all()]


def _order(target: Table) -> str:
    return "id" if "id" in target.c else next(iter(target.primary_key.columns)).name


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
