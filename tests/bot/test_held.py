"""PostgreSQL's held connections (bot/store/postgres.py): handed on when given back, and
a connection that cannot be opened is an error for who waits, not a wait forever."""

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store import async_url
from bot.store.plans import Plans
from bot.store.postgres import Direct, Held


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL is not set")
    engine = create_async_engine(async_url(admin_url))
    yield engine
    await engine.dispose()


async def test_who_waits_gets_the_connection_given_back(engine: AsyncEngine) -> None:
    held = Held(engine, 1, Plans(engine.dialect))
    entered, release = asyncio.Event(), asyncio.Event()
    used: list[Direct] = []

    async def use() -> None:
        async with held.connection() as connection:
            used.append(connection)
            entered.set()
            await release.wait()

    first = asyncio.create_task(use())
    await entered.wait()  # a connection was opened for the first, which keeps it
    second = asyncio.create_task(use())
    for _ in range(10):
        await asyncio.sleep(0)  # the loop's turns, no clock
    assert len(used) == 1  # the second waits: one connection at most
    release.set()
    await asyncio.gather(first, second)
    assert used[1] is used[0]
    await held.close()


async def test_a_server_that_cannot_be_reached_is_an_error_for_each_who_waits() -> None:
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    held = Held(engine, 4, Plans(engine.dialect))

    async def use() -> None:
        async with held.connection():
            pass

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(use() for _ in range(3)), return_exceptions=True), 10
    )
    assert all(isinstance(outcome, OSError) for outcome in outcomes), outcomes
    await engine.dispose()
