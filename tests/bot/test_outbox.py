"""The outbox against a real database: order within a lane, retries, giving up, and
two claimers on one database."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.metrics import Metrics
from bot.outbox import GiveUp, Outbox, RetryLater, backoff, enqueue
from bot.store import Store
from bot.tables import OutboxJob

# The outbox's clock, a day ahead of the wall clock that stamps new jobs: they are due.
NOW = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(database_url)
    await store.create_schema()
    yield store
    await store.close()


async def add_jobs(store: Store, *jobs: tuple[str, str | None]) -> None:
    async with store.session() as session:
        for i, (kind, lane) in enumerate(jobs):
            enqueue(session, kind, {"n": i}, None, lane=lane)
        await session.commit()


async def all_jobs(store: Store) -> list[OutboxJob]:
    async with store.session() as session:
        return list((await session.exec(select(OutboxJob).order_by(col(OutboxJob.id)))).all())


async def test_a_lane_runs_in_order_and_lanes_run_side_by_side(store: Store) -> None:
    outbox = Outbox(store, Metrics(), poll=0.05)
    release, started = asyncio.Event(), []

    async def handle(job: OutboxJob) -> None:
        started.append(job.payload["n"])
        if job.payload["n"] == 0:
            await release.wait()

    outbox.register({"work": handle})
    await add_jobs(store, ("work", "a"), ("work", "a"), ("work", "b"))
    await outbox.start()
    try:
        async with asyncio.timeout(10):
            while sorted(started) != [0, 2]:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        assert 1 not in started  # held back behind job 0 in lane a
        release.set()
        async with asyncio.timeout(10):
            while [job.status for job in await all_jobs(store)] != ["done"] * 3:
                await asyncio.sleep(0.01)
    finally:
        await outbox.stop()
    assert started == [0, 2, 1] or started == [2, 0, 1]


async def test_retry_after_gives_up_and_unknown_kinds(store: Store) -> None:
    outbox = Outbox(store, Metrics(), max_attempts=3, clock=lambda: NOW)

    async def busy(job: OutboxJob) -> None:
        raise RetryLater("429", after=30)

    async def never(job: OutboxJob) -> None:
        raise GiveUp("blocked")

    outbox.register({"busy": busy, "never": never})
    await add_jobs(store, ("busy", None), ("never", None), ("not-yet-configured", None))
    assert await outbox.run_due() == 2
    busy_job, never_job, waiting = await all_jobs(store)
    assert (busy_job.status, busy_job.attempts, busy_job.last_error) == ("pending", 1, "429")
    assert busy_job.run_after == NOW + timedelta(seconds=30)
    assert (never_job.status, never_job.attempts, never_job.last_error) == ("failed", 1, "blocked")
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert await outbox.run_due() == 0  # not due before Retry-After

    for hours in (1, 2):
        outbox.clock = lambda hours=hours: NOW + timedelta(hours=hours)  # type: ignore[misc]
        assert await outbox.run_due() == 1
    busy_job = (await all_jobs(store))[0]
    assert (busy_job.status, busy_job.attempts) == ("failed", 3)


async def test_an_unexpected_error_is_retried_with_backoff(store: Store) -> None:
    outbox = Outbox(store, Metrics(), clock=lambda: NOW)

    async def broken(job: OutboxJob) -> None:
        raise RuntimeError("bug")

    outbox.register({"broken": broken})
    await add_jobs(store, ("broken", None))
    await outbox.run_due()
    job = (await all_jobs(store))[0]
    assert job.status == "pending"
    assert job.last_error == "RuntimeError: bug"
    assert NOW + timedelta(seconds=0.5) < job.run_after < NOW + timedelta(seconds=1.5)


async def test_two_claimers_run_each_job_once(store: Store) -> None:
    handled: list[int] = []

    async def handle(job: OutboxJob) -> None:
        handled.append(job.payload["n"])
        await asyncio.sleep(0.01)

    first, second = Outbox(store, Metrics()), Outbox(Store(store.url), Metrics())
    for outbox in (first, second):
        outbox.register({"work": handle})
    await add_jobs(store, *[("work", f"lane-{i % 7}") for i in range(40)])
    async with asyncio.timeout(30):
        while len(handled) < 40:
            await asyncio.gather(first.run_due(limit=3), second.run_due(limit=3))
    await second.store.close()
    assert sorted(handled) == list(range(40))


def test_backoff_doubles_to_ten_minutes() -> None:
    import random

    rng = random.Random(1)
    delays = [backoff(n, rng) for n in (1, 2, 3, 4, 10, 30)]
    assert 0.8 <= delays[0] <= 1.2
    assert 1.6 <= delays[1] <= 2.4
    assert 3.2 <= delays[2] <= 4.8
    assert 480 <= delays[5] <= 720
    assert delays == sorted(delays)
