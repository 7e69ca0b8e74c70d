"""SQLite for one app instance: one connection, used right on the event loop (a statement
takes microseconds, less than a hop to a worker thread and back), and group commit:
transactions that queue for the connection while another runs join its database
transaction, each in a savepoint of its own, and share its commit, so a burst waits
for the disk once rather than once each. Each still returns only once it is durable.
The commit itself stays on the loop too while the disk answers quickly (see
SqliteFile._durably)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import URL, CursorResult, Dialect, Engine, Executable, create_engine, event
from sqlalchemy import Connection as SyncConnection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

_GROUP_LIMIT = 64  # transactions sharing one commit, at most
# Seconds: while commits take less than this on average, they run on the loop. A local
# SSD's (fsync included) took 0.16-0.38 ms there, 0.06-0.14 ms of it CPU; handed to a
# worker thread, 0.36-0.57 ms and 0.23-0.34 ms of CPU, the hop costing more than the wait.
_ON_THE_LOOP = 0.002


class OnTheLoop:
    """A connection that looks like SQLAlchemy's AsyncConnection (see store.Connection)."""

    def __init__(self, connection: SyncConnection) -> None:
        self.connection = connection
        self.dialect: Dialect = connection.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        return self.connection.execute(statement, parameters)


@dataclass
class _Group:
    """One database transaction and the app's transactions inside it."""

    committed: asyncio.Future[None]
    members: int = 0
    closer: asyncio.Task[None] | None = None
    savepoints: int = 0


class SchemaChangeError(Exception):
    """A schema change would have left rows pointing at rows that are not there."""


class SqliteFile:
    def __init__(self, url: URL) -> None:
        self.engine, self._readers = _engine(url), _engine(url)
        self._lock = asyncio.Lock()
        self._waiting = 0  # transactions queued for the connection
        self._group: _Group | None = None
        self._connection: SyncConnection | None = None
        self._reader: SyncConnection | None = None
        self._commit_seconds = 0.0  # a moving average of how long a COMMIT takes

    def connection(self) -> SyncConnection:
        """The connection that writes (one, taken in turn)."""
        if self._connection is None:
            self._connection = self.engine.connect()
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[OnTheLoop]:
        """Everything inside commits together, or not at all; the caller goes on only
        once it is committed."""
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            connection = self.connection()
            group = self._group
            if group is None:
                # IMMEDIATE: the write lock now, waited for up to busy_timeout. A deferred
                # BEGIN reads first, and where another connection to the file (a second
                # instance, a CLI command) committed meanwhile, its first write fails at
                # once with "database is locked", busy_timeout or not.
                self._raw("BEGIN IMMEDIATE")
                group = self._group = _Group(asyncio.get_running_loop().create_future())
            group.savepoints += 1
            savepoint = f"member_{group.savepoints}"
            self._raw(f"SAVEPOINT {savepoint}")
            try:
                yield OnTheLoop(connection)
            except BaseException:
                self._raw(f"ROLLBACK TO {savepoint}")
                self._raw(f"RELEASE {savepoint}")
                await self._end_turn(group, joined=False)
                raise
            self._raw(f"RELEASE {savepoint}")
            await self._end_turn(group, joined=True)
        finally:
            self._lock.release()
        await asyncio.shield(group.committed)

    @asynccontextmanager
    async def changing_schema(self) -> AsyncIterator[SyncConnection]:
        """The writer connection in a transaction of its own with foreign keys off, for
        schema changes: SQLite alters a table by copying it into a new one and dropping
        the old, and with the keys on, that drop deletes (or refuses to delete) what
        refers to it. The keys are checked before the commit instead. Transactions
        begun before it commit first; those after it wait."""
        async with self._lock:
            if self._group is not None:  # left open for those that queued behind it
                await self._commit(self._group)
            connection = self.connection()
            self._raw("PRAGMA foreign_keys=OFF")  # ignored inside a transaction
            try:
                self._raw("BEGIN IMMEDIATE")
                if not connection.in_transaction():
                    # SQLAlchemy's own (it sends nothing): Alembic, finding the
                    # connection in a transaction, leaves the commit to us.
                    connection.begin()
                try:
                    yield connection
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise SchemaChangeError(f"rows refer to missing rows: {broken[:5]}")
                except BaseException:
                    self._raw("ROLLBACK")
                    raise
                self._raw("COMMIT")
            finally:
                self._raw("PRAGMA foreign_keys=ON")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[OnTheLoop]:
        """Reads go to a second connection (WAL lets it read beside the writer): they
        see what is committed, and never wait for a commit to reach the disk. Being
        on the loop, one read cannot interleave with another's statements."""
        if self._reader is None:
            self._reader = self._readers.connect()
        yield OnTheLoop(self._reader)

    async def _end_turn(self, group: _Group, *, joined: bool) -> None:
        """Called holding the lock: leave the group open for those queued, who join it
        (a task commits it after them), or commit it now."""
        group.members += joined
        if self._waiting and group.members < _GROUP_LIMIT:
            if group.closer is None:
                group.closer = asyncio.create_task(self._close(group), name="sqlite-commit")
            return
        await self._commit(group)

    async def _close(self, group: _Group) -> None:
        async with self._lock:  # after those queued before it: they joined the group
            if self._group is group:
                await self._commit(group)

    async def _commit(self, group: _Group) -> None:
        self._group = None
        try:
            await self._durably()
        except Exception as exc:
            with contextlib.suppress(Exception):
                self._raw("ROLLBACK")
            group.committed.set_exception(exc)
            return
        finally:
            if not group.committed.done():
                group.committed.set_result(None)

    async def _durably(self) -> None:
        """COMMIT, which waits for the disk: right here while commits are quick, else in
        a worker thread (handed over now, not at the loop's next turn), the loop going
        on meanwhile. Either way each is timed, so a disk that slows down moves them to
        the thread and one that recovers brings them back."""
        if self._commit_seconds < _ON_THE_LOOP:
            self._timed_commit()
            return
        commit = asyncio.get_running_loop().run_in_executor(None, self._timed_commit)
        try:
            await asyncio.shield(commit)
        except asyncio.CancelledError:
            await commit  # the connection is not handed on half-committed
            raise

    def _timed_commit(self) -> None:
        started = time.perf_counter()
        self._raw("COMMIT")
        self._commit_seconds += (time.perf_counter() - started - self._commit_seconds) / 8

    def _raw(self, sql: str) -> None:
        dbapi = self.connection().connection.dbapi_connection
        assert dbapi is not None
        dbapi.execute(sql)

    def close(self) -> None:
        for connection in (self._connection, self._reader):
            if connection is not None:
                connection.close()
        self._connection = self._reader = None
        self.engine.dispose()
        self._readers.dispose()


def _engine(url: URL) -> Engine:
    """One connection for the app's life. isolation_level None: the driver leaves BEGIN
    and COMMIT to us, as it must for savepoints to nest inside a transaction."""
    engine = create_engine(
        url,
        poolclass=StaticPool,
        connect_args={"check_same_thread": False, "isolation_level": None},
    )
    event.listen(engine, "connect", pragmas)
    return engine


def pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
