"""The stored past, read for the what-if replay and the report: conversations as they
were routed, the assignments after, and customers' own words. Cold paths, each a few
queries over a period (never one per conversation)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select

from bot.store import Connection
from bot.store.privacy import ERASED
from bot.tables import OPEN_STATUSES, assignments, conversations, customers, messages

_FIRST = (
    select(assignments.c.conversation_id, func.min(assignments.c.id).label("first"))
    .group_by(assignments.c.conversation_id)
    .subquery()
)
_ROUTED_COLUMNS = (
    conversations.c.id, conversations.c.customer_id, conversations.c.channel,
    conversations.c.intent, conversations.c.entities, conversations.c.closed_at,
    customers.c.language, customers.c.tags, assignments.c.employee_id,
    assignments.c.assigned_at.label("routed_at"),
)  # fmt: skip


def _routed() -> Select[Any]:
    """Each conversation with its first assignment: the routing decision."""
    return (
        select(*_ROUTED_COLUMNS)
        .join(_FIRST, _FIRST.c.conversation_id == conversations.c.id)
        .join(assignments, assignments.c.id == _FIRST.c.first)
        .join(customers, customers.c.id == conversations.c.customer_id)
    )


_IN_PERIOD = (
    _routed()
    .where(assignments.c.assigned_at >= bindparam("since"))
    .where(assignments.c.assigned_at < bindparam("until"))
    .order_by(assignments.c.assigned_at, conversations.c.id)
)
_OPEN_AT_START = (
    select(conversations.c.employee_id, conversations.c.closed_at)
    .join(_FIRST, _FIRST.c.conversation_id == conversations.c.id)
    .join(assignments, assignments.c.id == _FIRST.c.first)
    .where(assignments.c.assigned_at < bindparam("since"))
    .where(conversations.c.employee_id.is_not(None))
    .where(or_(conversations.c.closed_at.is_(None), conversations.c.closed_at > bindparam("since")))
)
_EARLIER_PEOPLE = (
    select(conversations.c.customer_id, assignments.c.employee_id)
    .join(conversations, conversations.c.id == assignments.c.conversation_id)
    .where(assignments.c.assigned_at < bindparam("since"))
    .where(
        conversations.c.customer_id.in_(
            _IN_PERIOD.with_only_columns(conversations.c.customer_id).scalar_subquery()
        )
    )
    .order_by(assignments.c.assigned_at, assignments.c.id)
)
_LAST_ASSIGNED = (
    select(assignments.c.employee_id, func.max(assignments.c.assigned_at).label("at"))
    .where(assignments.c.assigned_at < bindparam("since"))
    .group_by(assignments.c.employee_id)
)
_CUSTOMERS_IN = (
    select(conversations.c.customer_id)
    .where(conversations.c.created_at >= bindparam("since"))
    .where(conversations.c.created_at < bindparam("until"))
    .distinct()
)
_ASSIGNMENTS_OF_CUSTOMERS = (
    select(assignments, conversations.c.customer_id, conversations.c.intent)
    .join(conversations, conversations.c.id == assignments.c.conversation_id)
    .where(conversations.c.customer_id.in_(_CUSTOMERS_IN.scalar_subquery()))
    .where(assignments.c.assigned_at < bindparam("until"))
    .order_by(assignments.c.assigned_at, assignments.c.id)
)
_CREATED = (
    select(conversations.c.id, conversations.c.customer_id, conversations.c.created_at,
           conversations.c.intent, conversations.c.confidence)
    .where(conversations.c.created_at >= bindparam("since"))
    .where(conversations.c.created_at < bindparam("until"))
    .order_by(conversations.c.id)
)  # fmt: skip
_SAID = (
    select(messages.c.conversation_id, messages.c.body, messages.c.created_at)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(conversations.c.created_at >= bindparam("since"))
    .where(conversations.c.created_at < bindparam("until"))
    .where(messages.c.author == "customer")
    .order_by(messages.c.id)
)
_FIRST_WORDS = select(messages.c.conversation_id, messages.c.body).where(
    messages.c.id.in_(
        select(func.min(messages.c.id))
        .where(messages.c.author == "customer")
        .where(messages.c.body != ERASED)
        .where(messages.c.conversation_id.in_(bindparam("ids", expanding=True)))
        .group_by(messages.c.conversation_id)
        .scalar_subquery()
    )
)
_UNANSWERED = (
    select(assignments.c.conversation_id, assignments.c.employee_id, assignments.c.assigned_at,
           conversations.c.intent, customers.c.id.label("customer_id"), customers.c.name)
    .join(conversations, conversations.c.id == assignments.c.conversation_id)
    .join(customers, customers.c.id == conversations.c.customer_id)
    .where(assignments.c.first_reply_at.is_(None))
    .where(assignments.c.ended_at.is_(None))
    .where(conversations.c.status.in_(OPEN_STATUSES))
    .order_by(assignments.c.assigned_at, assignments.c.id)
)  # fmt: skip


@dataclass(frozen=True)
class Routed:
    """A conversation as it was routed: what triage stored, the customer as they are
    now, and the first assignment (who, when)."""

    id: int
    customer_id: int
    channel: str
    intent: str | None
    entities: dict[str, str]
    closed_at: datetime | None
    language: str | None
    tags: list[str]
    employee_id: str
    routed_at: datetime


@dataclass(frozen=True)
class Said:
    """One message a customer wrote."""

    conversation_id: int
    body: str
    at: datetime


async def routed(connection: Connection, since: datetime, until: datetime) -> list[Routed]:
    """The conversations first routed in [since, until), in the order they were."""
    found = await connection.execute(_IN_PERIOD, {"since": since, "until": until})
    return [Routed(**row._mapping) for row in found.all()]


async def open_at(connection: Connection, since: datetime) -> list[tuple[str, datetime | None]]:
    """Conversations routed before `since` and still open then: (who holds them now,
    when they closed, None if still open)."""
    found = await connection.execute(_OPEN_AT_START, {"since": since})
    return [(row.employee_id, row.closed_at) for row in found.all()]


async def previous_people(
    connection: Connection, since: datetime, until: datetime
) -> dict[int, str]:
    """Who each customer routed in [since, until) was last given to before `since`."""
    found = await connection.execute(_EARLIER_PEOPLE, {"since": since, "until": until})
    return {row.customer_id: row.employee_id for row in found.all()}


async def last_assigned(connection: Connection, since: datetime) -> dict[str, datetime]:
    """Each employee's newest assignment before `since`."""
    found = await connection.execute(_LAST_ASSIGNED, {"since": since})
    return {row.employee_id: row.at for row in found.all()}


async def assignments_of_customers(
    connection: Connection, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Every assignment before `until` of the customers with a conversation started in
    [since, until), oldest first, with the conversation's customer and intent."""
    found = await connection.execute(_ASSIGNMENTS_OF_CUSTOMERS, {"since": since, "until": until})
    return [dict(row._mapping) for row in found.all()]


async def created(connection: Connection, since: datetime, until: datetime) -> list[Any]:
    """Conversations started in [since, until): id, customer, when, intent, confidence."""
    return list((await connection.execute(_CREATED, {"since": since, "until": until})).all())


async def said(connection: Connection, since: datetime, until: datetime) -> list[Said]:
    """What customers wrote in the conversations started in [since, until), in order."""
    found = await connection.execute(_SAID, {"since": since, "until": until})
    return [Said(row.conversation_id, row.body, row.created_at) for row in found.all()]


async def first_words(connection: Connection, ids: Collection[int]) -> dict[int, str]:
    """Each conversation's first customer message that was not erased."""
    if not ids:
        return {}
    found = await connection.execute(_FIRST_WORDS, {"ids": list(ids)})
    return {row.conversation_id: row.body for row in found.all()}


async def unanswered(connection: Connection) -> list[Any]:
    """Open conversations whose person has not replied yet, the longest waiting first:
    conversation, customer (id, name), intent, who has it and since when."""
    return list((await connection.execute(_UNANSWERED)).all())
