"""Conversations, who they are assigned to, the threads they have on the desk, and the
roster's live state that routing reads."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    bindparam,
    func,
    literal_column,
    null,
    select,
    text,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql

from bot.store import Connection
from bot.store.rows import add, change, ignoring, model, models, split, upserting, values
from bot.tables import (
    OPEN_STATUSES,
    Assignment,
    Conversation,
    Thread,
    assignments,
    conversations,
    employee_status,
    messages,
    threads,
)
from routing import EmployeeState
from routing.hours import WorkingHours

# Literal, not a parameter: PostgreSQL matches `ON CONFLICT ... WHERE` to the partial
# unique index while planning, and a generic plan (from the sixth run on) knows no value.
_OPEN = conversations.c.status != literal_column("'closed'")
_BY_ID = select(conversations).where(conversations.c.id == bindparam("id"))
_WITH_CURRENT = (
    select(conversations, assignments)
    .join(
        assignments,
        (assignments.c.conversation_id == conversations.c.id) & assignments.c.ended_at.is_(None),
        isouter=True,
    )
    .where(conversations.c.id == bindparam("id"))
    .order_by(assignments.c.id.desc())
    .limit(1)
)
_OPEN_ONE = select(conversations).where(conversations.c.customer_id == bindparam("customer"), _OPEN)
_START = ignoring(conversations, "customer_id", index_where=_OPEN)
_FOR_THREAD = select(threads.c.conversation_id).where(
    threads.c.place == bindparam("place"), threads.c.thread == bindparam("thread")
)
_POINT_AT_THREAD = (
    update(conversations)
    .where(conversations.c.id == bindparam("conversation"))
    .values(thread_id=bindparam("new_thread"))
)
_THREAD = select(threads).where(threads.c.id == bindparam("id"))
_CARD_POSTED = select(threads.c.id).where(threads.c.assignment_id == bindparam("id")).limit(1)
_ASSIGNMENT = select(assignments).where(assignments.c.id == bindparam("id"))
_LATEST = (
    select(assignments)
    .where(assignments.c.conversation_id == bindparam("conversation"))
    .order_by(assignments.c.id.desc())
    .limit(1)
)
_END = (
    update(assignments)
    .where(assignments.c.conversation_id == bindparam("conversation"))
    .where(assignments.c.ended_at.is_(None))
    .values(ended_at=bindparam("at"))
)
_FIRST_REPLY = (
    update(assignments)
    .where(assignments.c.id == bindparam("assignment"))
    .values(first_reply_at=bindparam("at"), first_reply_seconds=bindparam("working"))
)
_REPLY_TIMES = (
    select(assignments.c.employee_id, assignments.c.first_reply_seconds)
    .where(assignments.c.employee_id.in_(bindparam("employees", expanding=True)))
    .where(assignments.c.assigned_at >= bindparam("since"))
    .where(assignments.c.first_reply_seconds.is_not(None))
    .order_by(assignments.c.assigned_at.desc())
    .limit(bindparam("limit"))
)
_UNANSWERED = select(assignments.c.employee_id).where(
    assignments.c.conversation_id == bindparam("conversation"),
    assignments.c.first_reply_at.is_(None),
)
_GIVE = (
    update(conversations)
    .where(conversations.c.id == bindparam("conversation"))
    .values(employee_id=bindparam("employee"), status=bindparam("new_status"))
)
_LAST_ASSIGNED = upserting(employee_status, "employee_id", "last_assigned_at")
_AWAY = upserting(employee_status, "employee_id", "away", "updated_at")


def last_employee(customer: ColumnElement[int]) -> Select[tuple[str]]:
    """Who was last assigned to one of `customer`'s conversations."""
    return (
        select(assignments.c.employee_id)
        .join(conversations, conversations.c.id == assignments.c.conversation_id)
        .where(conversations.c.customer_id == customer)
        .order_by(assignments.c.assigned_at.desc(), assignments.c.id.desc())
        .limit(1)
    )


_PREVIOUS = last_employee(bindparam("customer"))
_OPEN_COUNTS = (
    select(conversations.c.employee_id, func.count().label("open"))
    .where(conversations.c.status.in_(OPEN_STATUSES))
    .group_by(conversations.c.employee_id)
)
# The instants come back as the driver gives them (SQLite's text, asyncpg's datetime)
# and `_instant` makes them UTC datetimes, remembering them: a team's roster is read on
# every handoff, mostly unchanged, and converting 300 instants each time through the
# column's type was a third of the read on SQLite.
_STATUSES = select(
    employee_status.c.employee_id,
    employee_status.c.away,
    type_coerce(employee_status.c.last_assigned_at, String),
)


def _among(dialect: str, column: ColumnElement[str]) -> ColumnElement[bool]:
    """`column` is one of the ids in the parameter `employees`: a JSON list on SQLite,
    an array on PostgreSQL, either read as a table. Not an expanding IN: SQLAlchemy
    renders that again on every run, and with a team's 250 ids it cost more than the
    query. Nor `= ANY(array)` on PostgreSQL: it compares each row with every id, and
    plans each run element by element (2.0 ms a roster for 250 ids; 0.9 ms so)."""
    if dialect == "sqlite":
        each = func.json_each(bindparam("employees", type_=String))
        return column.in_(select(literal_column("value")).select_from(each))
    return column.in_(select(func.unnest(bindparam("employees", type_=postgresql.ARRAY(String)))))


def _roster(dialect: str | None) -> CompoundSelect[Any]:
    """Each employee's row (away, last assigned; `open` NULL) and open conversations
    (`open` counted), of the employees bound as `employees` or (no dialect) of all:
    one statement, as the roster is read on every handoff. The rows' types are the
    first select's."""
    statuses, counts = _STATUSES.add_columns(null().label("open")), _OPEN_COUNTS
    if dialect is not None:
        statuses = statuses.where(_among(dialect, employee_status.c.employee_id))
        counts = counts.where(_among(dialect, conversations.c.employee_id))
    counted = counts.with_only_columns(conversations.c.employee_id, null(), null(), func.count())
    return union_all(statuses, counted)


_ROSTER = {dialect: _roster(dialect) for dialect in ("sqlite", "postgresql")}
_ROSTER_OF_ALL = _roster(None)
_Rows = Sequence[tuple[str | None, bool | None, datetime | str | None, int | None]]
_LOCK_ROSTER = text("SELECT pg_advisory_xact_lock(hashtext('frontdesk roster'))")
_EARLIER = (
    select(conversations, func.count(messages.c.id).label("messages"))
    .join(messages, messages.c.conversation_id == conversations.c.id, isouter=True)
    .where(conversations.c.customer_id == bindparam("customer"))
    .where(conversations.c.id != bindparam("before"))
    .group_by(conversations.c.id)
    .order_by(conversations.c.id.desc())
    .limit(bindparam("limit"))
)


async def conversation(connection: Connection, conversation_id: int) -> Conversation | None:
    row = (await connection.execute(_BY_ID, {"id": conversation_id})).first()
    return model(Conversation, row) if row else None


async def open_conversation(connection: Connection, customer_id: int) -> Conversation | None:
    row = (await connection.execute(_OPEN_ONE, {"customer": customer_id})).first()
    return model(Conversation, row) if row else None


async def open_or_start(
    connection: Connection, customer_id: int, channel: str, now: datetime, **new: Any
) -> Conversation:
    """The customer's open conversation, now on `channel` (replies go where the
    customer last wrote), or a new one started `now` with `new` set. Two instances
    starting one at once agree on a single conversation (a unique index allows one open)."""
    current = await open_conversation(connection, customer_id)
    if current is None:
        # Every field with a default factory is given: pydantic inspects the factory's
        # signature on each call (about 50 µs each).
        fresh = Conversation(customer_id=customer_id, channel=channel, entities={}, offered=[],
                             created_at=now, **new)  # fmt: skip
        started = (await connection.execute(_START(connection), values(fresh))).first()
        if started is not None:
            fresh.id, current = started.id, fresh
        else:  # another instance started one first
            current = await open_conversation(connection, customer_id)
            assert current is not None
    if current.channel != channel:
        await change(connection, current, channel=channel)
    return current


async def conversation_for_thread(connection: Connection, place: str, thread: str) -> int | None:
    found = await connection.execute(_FOR_THREAD, {"place": place, "thread": thread})
    return found.scalar()


async def add_thread(connection: Connection, record: Thread) -> None:
    """A card was posted: its thread is now the conversation's way to the customer."""
    await add(connection, record)
    await connection.execute(
        _POINT_AT_THREAD, {"conversation": record.conversation_id, "new_thread": record.id}
    )


async def thread(connection: Connection, thread_id: int) -> Thread:
    return model(Thread, (await connection.execute(_THREAD, {"id": thread_id})).one())


async def card_posted(connection: Connection, assignment_id: int) -> bool:
    return (await connection.execute(_CARD_POSTED, {"id": assignment_id})).first() is not None


async def assignment(connection: Connection, assignment_id: int) -> Assignment:
    return model(Assignment, (await connection.execute(_ASSIGNMENT, {"id": assignment_id})).one())


async def latest_assignment(connection: Connection, conversation_id: int) -> Assignment | None:
    """The conversation's newest assignment, ended or not (the current one, not yet
    ended, comes with its conversation: with_current_assignment)."""
    row = (await connection.execute(_LATEST, {"conversation": conversation_id})).first()
    return model(Assignment, row) if row else None


async def assign(connection: Connection, record: Assignment, status: str) -> Assignment:
    """End the conversation's current assignment, start `record`, and give the
    conversation to its employee with `status`."""
    conversation_id = record.conversation_id
    await end_assignments(connection, conversation_id, record.assigned_at)
    await add(connection, record)
    await connection.execute(
        _GIVE,
        {"conversation": conversation_id, "employee": record.employee_id, "new_status": status},
    )
    await connection.execute(
        _LAST_ASSIGNED(connection),
        {"employee_id": record.employee_id, "away": False,
         "last_assigned_at": record.assigned_at, "updated_at": record.assigned_at},
    )  # fmt: skip
    return record


async def end_assignments(connection: Connection, conversation_id: int, at: datetime) -> None:
    await connection.execute(_END, {"conversation": conversation_id, "at": at})


async def with_current_assignment(
    connection: Connection, conversation_id: int
) -> tuple[Conversation, Assignment | None] | None:
    """A conversation and its current assignment, if any, in one statement: both are
    read for every reply an employee writes."""
    row = (await connection.execute(_WITH_CURRENT, {"id": conversation_id})).first()
    if row is None:
        return None
    conversation, current = split(row, conversations, assignments)
    assert conversation is not None
    return model(Conversation, conversation), model(Assignment, current) if current else None


async def first_reply(
    connection: Connection, current: Assignment | None, at: datetime, hours: WorkingHours
) -> float | None:
    """Mark the current assignment's first reply, with the working time (in the
    assignee's `hours`) it took; the seconds it took, if this was it."""
    if current is None or current.first_reply_at is not None:
        return None
    working = hours.working_seconds(current.assigned_at, at)
    await connection.execute(_FIRST_REPLY, {"assignment": current.id, "at": at, "working": working})
    return (at - current.assigned_at).total_seconds()


async def reply_times(
    connection: Connection, employee_ids: Collection[str], since: datetime, limit: int
) -> list[tuple[str, float]]:
    """The working time each of these employees took to their first reply, in the
    conversations assigned to them since `since`: the newest `limit`, newest first."""
    found = await connection.execute(
        _REPLY_TIMES, {"employees": list(employee_ids), "since": since, "limit": limit}
    )
    return [(row.employee_id, float(row.first_reply_seconds)) for row in found.all()]


async def unanswered_by(connection: Connection, conversation_id: int) -> set[str]:
    """Who was given this conversation and never replied in it."""
    found = await connection.execute(_UNANSWERED, {"conversation": conversation_id})
    return set(found.scalars().all())


async def previous_employee(connection: Connection, customer_id: int) -> str | None:
    """Who was last assigned to one of this customer's conversations."""
    return (await connection.execute(_PREVIOUS, {"customer": customer_id})).scalar()


async def open_counts(connection: Connection) -> dict[str | None, int]:
    """How many open conversations each employee has (None: not yet assigned)."""
    found = await connection.execute(_OPEN_COUNTS)
    return {row.employee_id: int(row.open) for row in found.all()}


async def roster(
    connection: Connection, only: Collection[str] | None = None
) -> dict[str, EmployeeState]:
    """Each employee's (or `only` these employees') open conversations, last assignment
    and away flag: read from the open conversations and one row per employee, never
    from history. On PostgreSQL the transaction first takes the roster's lock, held
    until it commits: two instances routing at once would both pick the least busy."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await connection.execute(_LOCK_ROSTER)  # its own statement: the read's snapshot follows it
    if only is None:
        rows = await connection.execute(_ROSTER_OF_ALL)
    else:
        ids = list(only)
        employees = json.dumps(ids) if dialect == "sqlite" else ids
        rows = await connection.execute(_ROSTER[dialect], {"employees": employees})
    found: dict[str | None, int] = {}
    states: list[tuple[str, bool, datetime | None]] = []
    for employee, away, last_assigned_at, open_ in cast(_Rows, rows.all()):
        if open_ is not None:
            found[employee] = int(open_)
        elif employee is not None:
            states.append((employee, bool(away), _instant(last_assigned_at)))
    roster = {
        employee: EmployeeState(found.pop(employee, 0), away, last_assigned_at)
        for employee, away, last_assigned_at in states
    }
    for employee, n in found.items():
        if employee is not None:  # None: conversations still in triage
            roster[employee] = EmployeeState(open_conversations=n)
    return roster


@functools.lru_cache(maxsize=4096)
def _instant(value: datetime | str | None) -> datetime | None:
    """An instant as SQLite stores it (naive UTC text) or as a datetime, in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def set_away(connection: Connection, employee_id: str, away: bool, now: datetime) -> None:
    await connection.execute(
        _AWAY(connection), {"employee_id": employee_id, "away": away, "updated_at": now}
    )


async def recent(connection: Connection, status: str | None, limit: int) -> list[Conversation]:
    """The newest conversations, of one status if given."""
    query = select(conversations).order_by(conversations.c.id.desc()).limit(limit)
    if status:
        query = query.where(conversations.c.status == status)
    return models(Conversation, (await connection.execute(query)).all())


async def earlier(
    connection: Connection, customer_id: int, before: int, limit: int = 5
) -> list[tuple[Conversation, int]]:
    """The customer's other conversations, newest first, with how many messages each has."""
    found = await connection.execute(
        _EARLIER, {"customer": customer_id, "before": before, "limit": limit}
    )
    columns = conversations.c.keys()
    return [
        (model(Conversation, {k: row._mapping[k] for k in columns}), int(row.messages))
        for row in found.all()
    ]
