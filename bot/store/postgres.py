"""PostgreSQL connections held open and handed out in turn: taking a connection from
SQLAlchemy's pool and giving it back costs more of the app's CPU than a short read on
it (measured: a read 0.22 ms through the pool, 0.10 ms on a held connection; a
transaction 0.28 and 0.19 ms), and every message needs several. Statements run on the
driver where they can (plans.py); transactions are begun and ended here, in SQL, so
both ways of running a statement are inside the same one."""

from __future__ import annotations

import asyncio
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
    """Up to `size` connections of `engine`, opened when first needed and reused. One
    that was in use when something went wrong (an error, a cancellation, a lost
    server) is rolled back before it is reused, or dropped if that fails."""

    def __init__(self, engine: AsyncEngine, size: int, plans: Plans) -> None:
        self.engine = engine
        self.plans = plans
        self._room = asyncio.Semaphore(size)
        self._idle: list[Direct] = []

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Direct]:
        async with self._room:
            held = self._idle.pop() if self._idle else await self._open()
            try:
                yield held
            except BaseException:
                if await asyncio.shield(self._rolled_back(held)):
                    self._idle.append(held)
                raise
            self._idle.append(held)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for held in idle:
            await held.connection.close()

    async def _open(self) -> Direct:
        connection = await self.engine.connect()
        # Autocommit: SQLAlchemy begins nothing; transaction() does.
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        raw = await connection.get_raw_connection()
        return Direct(connection, raw.driver_connection, self.plans)

    @staticmethod
    async def _rolled_back(held: Direct) -> bool:
        """Whether `held` could be rolled back and is fit to reuse (else it is closed)."""
        connection = held.connection
        try:
            if not connection.invalidated and not held.driver.is_closed():
                await connection.rollback()  # SQLAlchemy's own state; it sends nothing
                if held.driver.is_in_transaction():
                    await held.driver.execute("ROLLBACK")
                return True
        except Exception:
            await connection.invalidate()
        await connection.close()
        return False
