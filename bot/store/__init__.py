"""The database: the engine, transactions and news between app instances, on SQLite
(default, one instance) or PostgreSQL (DATABASE_URL, several instances). The queries
live beside this module, one per kind of record, in SQLAlchemy Core: on the hot path
the ORM's per-object cost dominated the profile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import configure_mappers
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

TOPIC = "frontdesk"  # the PostgreSQL notification channel instances tell each other on
_RELISTEN = 2.0


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
    """The engine; `transaction()` to write, `reading()` to read."""

    def __init__(self, url: str) -> None:
        configure_mappers()  # records are made from rows without the ORM (see rows.py)
        self.url = async_url(url)
        self.sqlite = self.url.startswith("sqlite")
        # SQLite lets one writer in at a time and makes the others sleep and poll; one
        # connection, shared in turn, queues them without sleeping (and is why no code
        # here holds a connection across network calls or asks for a second one).
        options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if self.sqlite else {}
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        # Reads on PostgreSQL run without BEGIN and ROLLBACK around them. (SQLite's
        # driver opens a transaction only for writes anyway.)
        self._readers = (
            self.engine
            if self.sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        if self.sqlite:
            database = self.engine.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def create_schema(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """Everything inside commits together, or not at all."""
        async with self.engine.begin() as connection:
            yield connection

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._readers.connect() as connection:
            yield connection

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session, for the admin API, the CLI and tests (not the hot path)."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    async def notify(self, connection: AsyncConnection, news: str) -> None:
        """Tell the other instances `news` when this transaction commits."""
        if not self.sqlite:
            await connection.execute(
                text("SELECT pg_notify(:topic, :news)"), {"topic": TOPIC, "news": news}
            )

    async def listen(self, heard: Callable[[str], None]) -> None:
        """Pass on what other instances notify, until cancelled; nothing on SQLite,
        which has one instance. A lost connection is reopened (the outbox and the
        widget also poll, so nothing waits forever in between)."""
        if self.sqlite:
            await asyncio.Event().wait()
        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                connection = await asyncpg.connect(url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning(
                    "cannot listen for other instances", extra={"error": type(exc).__name__}
                )
                await asyncio.sleep(_RELISTEN)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
            try:
                await connection.add_listener(TOPIC, lambda *args: heard(str(args[3])))
                await lost.wait()
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
