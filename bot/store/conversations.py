"""Conversations, who they are assigned to, the threads they have on the desk, and the
roster's live state that routing reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bot.store import Connection
from bot.store.rows import add, insert_or_ignore, model, upsert
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

_OPEN = conversations.c.status != "closed"


async def conversation(connection: Connection, conversation_id: int) -> Conversation | None:
    row = (
        await connection.execute(select(conversations).where(conversations.c.id == conversation_id))
    ).first()
    return model(Conversation, row) if row else None


async def open_conversation(connection: Connection, customer_id: int) -> Conversation | None:
    row = (
        await connection.execute(
            select(conversations).where(conversations.c.customer_id == customer_id, _OPEN)
        )
    ).first()
    return model(Conversation, row) if row else None


async def open_or_start(
    connection: Connection, customer_id: int, channel: str, **new: Any
) -> Conversation:
    """The customer's open conversation, now on `channel` (replies go where the
    customer last wrote), or a new one with `new` set. Two instances starting one at
    once agree on a single conversation (a unique index allows one open)."""
    current = await open_conversation(connection, customer_id)
    if current is None:
        fresh = Conversation(customer_id=customer_id, channel=channel, **new).model_dump()
        del fresh["id"]
        await connection.execute(
            insert_or_ignore(connection, conversations, "customer_id", index_where=_OPEN).values(
                fresh
            )
        )
        current = await open_conversation(connection, customer_id)
        assert current is not None
    if current.channel != channel:
        await change(connection, current, channel=channel)
    return current


async def change(connection: Connection, record: Conversation, **values: Any) -> None:
    """Update a conversation's columns, in the database and on `record`."""
    await connection.execute(
        update(conversations).where(conversations.c.id == record.id).values(**values)
    )
    for name, value in values.items():
        setattr(record, name, value)


async def conversation_for_thread(connection: Connection, place: str, thread: str) -> int | None:
    found = await connection.execute(
        select(threads.c.conversation_id).where(
            threads.c.place == place, threads.c.thread == thread
        )
    )
    return found.scalar()


async def add_thread(connection: Connection, record: Thread) -> None:
    """A card was posted: its thread is now the conversation's way to the customer."""
    await add(connection, record)
    await connection.execute(
        update(conversations)
        .where(conversations.c.id == record.conversation_id)
        .values(thread_id=record.id)
    )


async def thread(connection: Connection, thread_id: int) -> Thread:
    row = (await connection.execute(select(threads).where(threads.c.id == thread_id))).one()
    return model(Thread, row)


async def card_posted(connection: Connection, assignment_id: int) -> bool:
    found = await connection.execute(
        select(threads.c.id).where(threads.c.assignment_id == assignment_id).limit(1)
    )
    return found.first() is not None


async def assignment(connection: Connection, assignment_id: int) -> Assignment:
    row = (
        await connection.execute(select(assignments).where(assignments.c.id == assignment_id))
    ).one()
    return model(Assignment, row)


async def latest_assignment(
    connection: Connection, conversation_id: int, *, current: bool = False
) -> Assignment | None:
    """The conversation's newest assignment; with `current`, only one not yet ended."""
    query = select(assignments).where(assignments.c.conversation_id == conversation_id)
    if current:
        query = query.where(assignments.c.ended_at.is_(None))
    row = (await connection.execute(query.order_by(assignments.c.id.desc()).limit(1))).first()
    return model(Assignment, row) if row else None


async def assign(connection: Connection, record: Assignment, status: str) -> Assignment:
    """End the conversation's current assignment, start `record`, and give the
    conversation to its employee with `status`."""
    await connection.execute(
        update(assignments)
        .where(
            assignments.c.conversation_id == record.conversation_id,
            assignments.c.ended_at.is_(None),
        )
        .values(ended_at=record.assigned_at)
    )
    await add(connection, record)
    await connection.execute(
        update(conversations)
        .where(conversations.c.id == record.conversation_id)
        .values(employee_id=record.employee_id, status=status)
    )
    await connection.execute(
        upsert(
            connection,
            employee_status,
            "employee_id",
            {
                "employee_id": record.employee_id,
                "away": False,
                "last_assigned_at": record.assigned_at,
                "updated_at": record.assigned_at,
            },
            "last_assigned_at",
        )
    )
    return record


async def end_assignments(connection: Connection, conversation_id: int, at: datetime) -> None:
    await connection.execute(
        update(assignments)
        .where(assignments.c.conversation_id == conversation_id, assignments.c.ended_at.is_(None))
        .values(ended_at=at)
    )


async def first_reply(connection: Connection, conversation_id: int, at: datetime) -> float | None:
    """Mark the current assignment's first reply; the seconds it took, if this was it."""
    current = await latest_assignment(connection, conversation_id, current=True)
    if current is None or current.first_reply_at is not None:
        return None
    await connection.execute(
        update(assignments).where(assignments.c.id == current.id).values(first_reply_at=at)
    )
    return (at - current.assigned_at).total_seconds()


async def previous_employee(connection: Connection, customer_id: int) -> str | None:
    """Who was last assigned to one of this customer's conversations."""
    found = await connection.execute(
        select(assignments.c.employee_id)
        .join(conversations, conversations.c.id == assignments.c.conversation_id)
        .where(conversations.c.customer_id == customer_id)
        .order_by(assignments.c.assigned_at.desc(), assignments.c.id.desc())
        .limit(1)
    )
    return found.scalar()


async def open_counts(connection: Connection) -> dict[str | None, int]:
    """How many open conversations each employee has (None: not yet assigned)."""
    found = await connection.execute(
        select(conversations.c.employee_id, func.count().label("open"))
        .where(conversations.c.status.in_(OPEN_STATUSES))
        .group_by(conversations.c.employee_id)
    )
    return {row.employee_id: int(row.open) for row in found.all()}


async def roster(connection: Connection) -> dict[str, EmployeeState]:
    """Each employee's open conversations, last assignment and away flag: read from
    the open conversations and one row per employee, never from history."""
    counts = {e: n for e, n in (await open_counts(connection)).items() if e is not None}
    statuses = (await connection.execute(select(employee_status))).all()
    known = {row.employee_id: row for row in statuses}
    return {
        employee: EmployeeState(
            open_conversations=counts.get(employee, 0),
            away=bool(known[employee].away) if employee in known else False,
            last_assigned_at=known[employee].last_assigned_at if employee in known else None,
        )
        for employee in counts.keys() | known.keys()
    }


async def set_away(connection: Connection, employee_id: str, away: bool, now: datetime) -> None:
    await connection.execute(
        upsert(
            connection,
            employee_status,
            "employee_id",
            {"employee_id": employee_id, "away": away, "updated_at": now},
            "away",
            "updated_at",
        )
    )


async def earlier(
    connection: Connection, customer_id: int, before: int, limit: int = 5
) -> list[tuple[Conversation, int]]:
    """The customer's other conversations, newest first, with how many messages each has."""
    rows = (
        await connection.execute(
            select(conversations, func.count(messages.c.id).label("messages"))
            .join(messages, messages.c.conversation_id == conversations.c.id, isouter=True)
            .where(conversations.c.customer_id == customer_id, conversations.c.id != before)
            .group_by(conversations.c.id)
            .order_by(conversations.c.id.desc())
            .limit(limit)
        )
    ).all()
    columns = conversations.c.keys()
    return [
        (model(Conversation, {k: row._mapping[k] for k in columns}), int(row.messages))
        for row in rows
    ]
