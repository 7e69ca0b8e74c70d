"""Everything stored about a customer, read out for an export, and erased: what they
wrote and were told, how to reach them and who they are go; that a conversation
happened (when, about what, with whom) stays, so reports still count it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, literal_column, select, update
from sqlalchemy.sql.elements import ColumnClause

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
    link_codes,
    messages,
    outbox,
    threads,
)

ERASED = "[erased]"  # what an erased message says

# The customer's columns that stay: they say nothing about who the customer is, and
# reports group by them. Every other column (name, e-mail, any added later) is erased.
_KEPT = {"id", "language", "tags", "created_at", "verified"}
_PENDING: ColumnClause[str] = literal_column("'pending'")
_FROM_THE_DESK = "desk"  # messages' source for what employees wrote: their ids stay


@dataclass(frozen=True)
class Erased:
    """What an erasure changed."""

    conversations: list[int]  # all of the customer's, kept as rows
    messages: int
    contacts: int
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
    return {
        "customer": _plain(row._mapping),
        "contacts": await _rows(connection, contacts, contacts.c.customer_id == customer_id),
        "conversations": talks,
        "link_codes": await _rows(connection, link_codes, link_codes.c.customer_id == customer_id),
        "erasures": await _rows(connection, erasures, erasures.c.customer_id == customer_id),
    }


async def erase(
    connection: Connection,
    customer_id: int,
    now: datetime,
    *,
    cancel: Sequence[str],
    scrub: Mapping[str, dict[str, Any]],
) -> Erased:
    """Erase a customer's personal data: the bodies of every message in their
    conversations, their messages' attachments and channel ids, the entities triage
    collected, their contacts, link codes and identity columns. Conversations still
    open are closed. Pending jobs of the kinds in `cancel` are cancelled, and the
    payloads of those conversations' jobs of the kinds in `scrub` replaced (they may
    quote a message)."""
    found = await connection.execute(
        select(conversations.c.id).where(conversations.c.customer_id == customer_id)
    )
    ids = list(found.scalars())
    identity = {c.name: None for c in customers.c if c.name not in _KEPT}
    await connection.execute(
        update(customers).where(customers.c.id == customer_id).values(identity)
    )
    gone_contacts = await connection.execute(
        delete(contacts).where(contacts.c.customer_id == customer_id)
    )
    gone_codes = await connection.execute(
        delete(link_codes).where(link_codes.c.customer_id == customer_id)
    )
    theirs = messages.c.conversation_id.in_(ids)
    bodies = await connection.execute(update(messages).where(theirs).values(body=ERASED))
    await connection.execute(
        update(messages)
        .where(theirs, messages.c.source != _FROM_THE_DESK)
        .values(details={}, source_id=None)
    )
    open_ones = conversations.c.id.in_(ids) & (conversations.c.status != "closed")
    await connection.execute(
        update(assignments)
        .where(assignments.c.conversation_id.in_(select(conversations.c.id).where(open_ones)))
        .where(assignments.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    closed = await connection.execute(
        update(conversations).where(open_ones).values(status="closed", closed_at=now)
    )
    await connection.execute(
        update(conversations).where(conversations.c.id.in_(ids)).values(entities={})
    )
    cancelled = await connection.execute(
        update(outbox)
        .where(outbox.c.conversation_id.in_(ids), outbox.c.status == _PENDING)
        .where(outbox.c.kind.in_(list(cancel)))
        .values(status="cancelled", finished_at=now, locked_until=None,
                last_error="cancelled: the customer's data was erased")
    )  # fmt: skip
    for kind, payload in scrub.items():
        await connection.execute(
            update(outbox)
            .where(outbox.c.conversation_id.in_(ids), outbox.c.kind == kind)
            .values(payload=payload)
        )
    return Erased(
        conversations=ids,
        messages=bodies.rowcount,
        contacts=gone_contacts.rowcount,
        link_codes=gone_codes.rowcount,
        closed=closed.rowcount,
        cancelled=cancelled.rowcount,
    )


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


async def expire(connection: Connection, before: datetime) -> int:
    """Erase the bodies and attachments of the messages written before `before`; how
    many there were."""
    return (await connection.execute(_EXPIRE, {"before": before})).rowcount


async def _rows(connection: Connection, target: Table, where: Any) -> list[dict[str, Any]]:
    found = await connection.execute(select(target).where(where).order_by(target.c[_order(target)]))
    return [_plain(row._mapping) for row in found.all()]


def _order(target: Table) -> str:
    return "id" if "id" in target.c else next(iter(target.primary_key.columns)).name


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
