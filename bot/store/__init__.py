"""The database: the engine, transactions and news between app instances, on SQLite
(default, one instance) or PostgreSQL (DATABASE_URL, several instances). The queries
live beside this module, one per kind of record, in SQLAlchemy Core: on the hot path
the ORM's per-object cost dominated the profile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from sqlalchemy import (
    CursorResult,
    Dialect,
    Executable,
    String,
    bindparam,
    event,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import configure_mappers
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store import schema
from bot.store.plans import Plans
from bot.store.postgres import Held
from bot.store.schema import Upgrade
from bot.store.sqlite import SqliteFile, pragmas

log = logging.getLogger(__name__)

TOPIC = "frontdesk"  # the PostgreSQL notification channel instances tell each other on
_RELISTEN = 2.0
_WRITERS, _READERS = 16, 8  # PostgreSQL connections per instance, plus one to listen
_SCHEMA_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('frontdesk schema'))")
_NOTIFY = text("SELECT pg_notify(:topic, each) FROM unnest(:news) AS each").bindparams(
    bindparam("news", type_=postgresql.ARRAY(String))
)
# Alembic keeps the running upgrade in module globals (`op`, `context`), and on
# PostgreSQL its statements await: two stores of one process upgrade one at a time.
_UPGRADING = asyncio.Lock()


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


class Connection(Protocol):
    """A connection inside `transaction()` or `reading()`: SQLAlchemy's AsyncConnection
    on PostgreSQL, a blocking one made to look the same on SQLite."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]: ...


class Store:
    """The database; `transaction()` to write, `reading()` to read."""

    def __init__(self, url: str) -> None:
        configure_mappers()  # records are made from rows without the ORM (see rows.py)
        self.url = async_url(url)
        self.sqlite = self.url.startswith("sqlite")
        self._async: AsyncEngine | None = None
        if self.sqlite:
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._file = SqliteFile(make_url(self.url).set(drivername="sqlite"))
        else:
            # Connections kept open for a burst (50 widgets answered at once): with
            # SQLAlchemy's default of 5, each one past it was opened and closed again.
            # The overflow is for what does not go through them (upgrades, ORM sessions).
            pool = _WRITERS + _READERS
            self._async = create_async_engine(self.url, pool_size=pool, max_overflow=4)
            plans = Plans(self._async.dialect)
            self._writers = Held(self._async, _WRITERS, plans)
            self._readers = Held(self._async, _READERS, plans)

    async def upgrade(self) -> Upgrade:
        """Bring the schema to the newest revision (bot/store/schema.py): create the
        tables in an empty database, upgrade an older one (0.1's included), leave a
        current one alone."""
        async with _UPGRADING:
            if self.sqlite:
                async with self._file.changing_schema() as connection:
                    done = schema.upgrade(connection)
            else:
                async with self.engine.begin() as connection:
                    # Instances starting together upgrade in turn; those after the first
                    # find the schema current. Held until the commit.
                    await connection.execute(_SCHEMA_LOCK)
                    done = await connection.run_sync(schema.upgrade)
        if done.before != done.after:
            log.info("database upgraded", extra={"from": done.before, "to": done.after})
        return done

    async def revision(self) -> str | None:
        """The schema's revision (see `schema.current`); changes nothing."""
        if self.sqlite:
            async with self._file.reading() as connection:
                return schema.current(connection.connection)
        async with self._readers.connection() as held:
            return await held.connection.run_sync(schema.current)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Everything inside commits together, or not at all."""
        if not self.sqlite:
            async with self._writers.connection() as held, held.transaction():
                yield held
            return
        async with self._file.transaction() as connection:
            yield connection

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        if not self.sqlite:
            async with self._readers.connection() as connection:
                yield connection
            return
        async with self._file.reading() as connection:
            yield connection

    @property
    def engine(self) -> AsyncEngine:
        """The async engine, for ORM sessions and tests (on SQLite made when first used,
        as a second connection to the file)."""
        if self._async is None:
            self._async = create_async_engine(self.url)
            event.listen(self._async.sync_engine, "connect", pragmas)
        return self._async

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session, for tests and cold paths (not the hot path)."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    async def notify(self, connection: Connection, news: Sequence[str]) -> None:
        """Tell the other instances each of `news` when this transaction commits."""
        if not self.sqlite and news:
            await connection.execute(_NOTIFY, {"topic": TOPIC, "news": list(news)})

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
        if self.sqlite:
            self._file.close()
        else:
            await self._writers.close()
            await self._readers.close()
        if self._async is not None:
            await self._async.dispose()
