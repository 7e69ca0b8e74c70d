"""PostgreSQL connections held open and handed out in turn: taking a connection from
SQLAlchemy's pool and giving it back costs more of the app's CPU than a short read on
it (measured: a read 0.22 ms through the pool, 0.10 ms on a held connection; a
transaction 0.28 and 0.19 ms), and every message needs several. Statements run on the
driver where they can (plans.py); transactions are begun and ended here, in SQL, so
both ways of running a statement are inside the same one."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
from sqlalchemy import CursorResult, Dialect, Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.plans import Plans


class Direct:
    """A held connection (see store.Connection): SQLAlchemy's, in autocommit, and its
    asyncpg connection underneath."""

    def __init__(self, connection: AsyncConnection, driver: asyncpg.Connection, plans: Plans):
        self.connection = connection
        self.driver = driver
        self.plans = plans
        self.dialect: Dialect = connection.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        plan = self.plans.plan(statement, parameters)
        if plan is None:
            return await self.connection.execute(statement, parameters)
        if isinstance(parameters, list):
            return cast(CursorResult[Any], await plan.run_many(self.driver, parameters))
        return cast(CursorResult[Any], await plan.run(self.driver, parameters or {}))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Direct]:
        await self.driver.execute("BEGIN")
        yield self  # an error: Held rolls back
        await self.driver.execute("COMMIT")


class Held:
    """Up to `size` connections of `engine`, opened as they are needed and reused. A
    request that finds none free waits for the first one back, while one more is opened
    beside it (one at a time): opening one (with the driver's look at the types) takes
    tens of milliseconds, so a burst is not held up by it. One that was in use when
    something went wrong (an error, a cancellation, a lost server) is rolled back
    before it is reused, or dropped if that fails."""

    def __init__(self, engine: AsyncEngine, size: int, plans: Plans) -> None:
        self.engine = engine
        self.plans = plans
        self.size = size
        self._idle: list[Direct] = []
        self._waiting: deque[asyncio.Future[Direct]] = deque()
        self._count = 0  # open, in use or being opened
        self._opener: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Direct]:
        held = await self._take()
        try:
            yield held
        except BaseException:
            await asyncio.shield(self._recover(held))  # given back even if cancelled again
            raise
        self._give(held)

    async def close(self) -> None:
        if self._opener is not None:
            self._opener.cancel()
        idle, self._idle = self._idle, []
        for held in idle:
            await held.connection.close()

    async def _take(self) -> Direct:
        if self._idle and not self._waiting:
            return self._idle.pop()
        waiter: asyncio.Future[Direct] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._supply()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give(waiter.result())  # handed over as this request was cancelled
            raise
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def _give(self, held: Direct) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(held)
                return
        self._idle.append(held)

    def _supply(self) -> None:
        """Serve who waits from the idle, and open one more if they still wait."""
        while self._idle and self._waiting:
            self._give(self._idle.pop())
        if self._waiting and self._opener is None and self._count < self.size:
            self._count += 1
            self._opener = asyncio.create_task(self._open_one(), name="postgres-connect")

    async def _open_one(self) -> None:
        try:
            held = await self._open()
        except Exception as exc:
            self._count -= 1
            # The first who waits hears why; the next try is for the next one.
            for waiter in self._waiting:
                if not waiter.done():
                    waiter.set_exception(exc)
                    break
        else:
            self._give(held)
        finally:
            self._opener = None
        self._supply()

    async def _open(self) -> Direct:
        connection = await self.engine.connect()
        # Autocommit: SQLAlchemy begins nothing; transaction() does.
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        raw = await connection.get_raw_connection()
        return Direct(connection, raw.driver_connection, self.plans)

    async def _recover(self, held: Direct) -> None:
        """Roll `held` back and give it back, or close it if that fails."""
        connection = held.connection
        try:
            if not connection.invalidated and not held.driver.is_closed():
                await connection.rollback()  # SQLAlchemy's own state; it sends nothing
                if held.driver.is_in_transaction():
                    await held.driver.execute("ROLLBACK")
                self._give(held)
                return
        except Exception:
            await connection.invalidate()
        await connection.close()
        self._count -= 1
        self._supply()
