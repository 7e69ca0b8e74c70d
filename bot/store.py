"""The database: engine, sessions and the queries several parts need, on SQLite
(default, WAL) or PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.tables import (
    OPEN_STATUSES,
    Assignment,
    Contact,
    Conversation,
    Customer,
    EmployeeStatus,
    LinkCode,
    Message,
    SlackThread,
)
from routing import EmployeeState

LINK_VALIDITY = timedelta(minutes=30)


def async_url(url: str) -> str:
    """Accept the usual URL spellings and pick the async driver for each backend."""
    for prefix, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url.removeprefix(prefix)
    return url


class Store:
    """The engine and the queries the app needs; sessions come from `session()`."""

    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        sqlite = self.url.startswith("sqlite")
        # SQLite lets one writer in at a time and makes the others sleep and poll; one
        # connection, shared in turn, queues them without sleeping (and is why no
        # code here holds a session across network calls or inside another session).
        options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if sqlite else {}
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.engine.dialect.name == "sqlite":
            database = self.engine.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def create_schema(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    async def close(self) -> None:
        await self.engine.dispose()

    async def roster(self) -> dict[str, EmployeeState]:
        async with self.session() as session:
            return await roster(session)

    async def previous_employee(self, customer_id: int) -> str | None:
        async with self.session() as session:
            return await previous_employee(session, customer_id)


async def roster(session: AsyncSession) -> dict[str, EmployeeState]:
    """Each employee's open conversations, last assignment and away flag. Takes the
    caller's session: on SQLite a writer asking the pool for a second connection
    could wait for itself."""
    open_counts = await session.exec(
        select(Conversation.employee_id, func.count())
        .where(col(Conversation.status).in_(OPEN_STATUSES))
        .where(col(Conversation.employee_id).is_not(None))
        .group_by(col(Conversation.employee_id))
    )
    counts = {employee: count for employee, count in open_counts if employee}
    last_assigned = await session.exec(
        select(Assignment.employee_id, func.max(Assignment.assigned_at)).group_by(
            col(Assignment.employee_id)
        )
    )
    latest = dict(last_assigned.all())
    away_query = select(EmployeeStatus.employee_id).where(col(EmployeeStatus.away))
    away = set((await session.exec(away_query)).all())
    return {
        employee: EmployeeState(
            open_conversations=counts.get(employee, 0),
            away=employee in away,
            last_assigned_at=_aware(latest.get(employee)),
        )
        for employee in counts.keys() | latest.keys() | away
    }


async def previous_employee(session: AsyncSession, customer_id: int) -> str | None:
    """Who was last assigned to one of this customer's conversations."""
    result = await session.exec(
        select(Assignment.employee_id)
        .join(Conversation, col(Conversation.id) == col(Assignment.conversation_id))
        .where(Conversation.customer_id == customer_id)
        .order_by(col(Assignment.assigned_at).desc(), col(Assignment.id).desc())
        .limit(1)
    )
    return result.first()


async def message_in_conversation(
    session: AsyncSession, message_id: int
) -> tuple[Message, Conversation]:
    """A stored message and its conversation (both must exist: outbox jobs name them)."""
    message = await session.get(Message, message_id)
    assert message is not None
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    return message, conversation


async def open_conversation(session: AsyncSession, customer_id: int) -> Conversation | None:
    found = await session.exec(
        select(Conversation)
        .where(Conversation.customer_id == customer_id, Conversation.status != "closed")
        .order_by(col(Conversation.id).desc())
    )
    return found.first()


async def conversation_for_thread(
    session: AsyncSession, channel: str, ts: str
) -> Conversation | None:
    found = await session.exec(
        select(Conversation)
        .join(SlackThread, col(SlackThread.conversation_id) == col(Conversation.id))
        .where(SlackThread.channel == channel, SlackThread.ts == ts)
    )
    return found.first()


async def current_assignment(session: AsyncSession, conversation_id: int) -> Assignment | None:
    found = await session.exec(
        select(Assignment)
        .where(Assignment.conversation_id == conversation_id, col(Assignment.ended_at).is_(None))
        .order_by(col(Assignment.id).desc())
    )
    return found.first()


async def new_link_code(session: AsyncSession, customer_id: int, now: datetime) -> str:
    """A one-time code (about 96 bits) that links this customer to another channel."""
    code = secrets.token_urlsafe(12)
    session.add(LinkCode(code=code, customer_id=customer_id, expires_at=now + LINK_VALIDITY))
    await session.commit()
    return code


async def link_customers(
    session: AsyncSession, code: str, other_id: int, now: datetime
) -> int | None:
    """Join the customer who asked for `code` and `other_id` into one (the former),
    if the code is unused and unexpired; the caller commits. Returns that customer."""
    link = await session.get(LinkCode, code)
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    link.used_at = now
    session.add(link)
    keeper = link.customer_id
    if keeper == other_id:
        return keeper
    kept, other = await session.get(Customer, keeper), await session.get(Customer, other_id)
    assert kept is not None
    assert other is not None
    kept.name, kept.language = kept.name or other.name, kept.language or other.language
    kept.tags = sorted(set(kept.tags) | set(other.tags))
    if await open_conversation(session, keeper) is not None:
        # One open conversation per customer: the one on the site carries on.
        duplicate = await open_conversation(session, other_id)
        if duplicate is not None:
            duplicate.status, duplicate.closed_at = "closed", now
            session.add(duplicate)
            await session.flush()
    for table in (Contact, Conversation):
        rows = await session.exec(select(table).where(table.customer_id == other_id))
        for row in rows.all():
            row.customer_id = keeper
            session.add(row)
    await session.flush()
    await session.delete(other)
    session.add(kept)
    return keeper


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type, so SQLite hands back naive or text values."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
