"""The outbox against a real database: order within a lane, work started at once by the
instance that committed it, retries, giving up, results committed with completion,
crashed instances' jobs taken over, 0.1's rows, and two claimers on one database."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.jobs import Deliver, PostNote, UpdateCard, decode, encode
from bot.metrics import Metrics
from bot.news import News
from bot.outbox import GiveUp, Outbox, RetryLater, Tx, Work, backoff
from bot.store import Store, queue
from bot.tables import OutboxJob, outbox

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(database_url)
    await store.upgrade()
    yield store
    await store.close()


def make_outbox(store: Store, clock: Clock | None = None, **options: Any) -> Outbox:
    return Outbox(store, Metrics(), News(store), clock=clock or Clock(), **options)


async def add_notes(box: Outbox, *lanes: str | None) -> None:
    """One transaction adding a note job per lane given, numbered in order."""
    async with box.transaction() as tx:
        for i, lane in enumerate(lanes):
            await tx.enqueue(PostNote(str(i)), conversation_id=None, lane=lane)


async def all_jobs(store: Store) -> list[OutboxJob]:
    async with store.reading() as connection:
        return (
            await queue.jobs(connection, "pending")
            + await queue.jobs(connection, "done")
            + await queue.jobs(connection, "failed")
        )


async def statuses(store: Store) -> dict[str, str]:
    """Each note job's status, by its text."""
    return {job.payload.get("text", job.kind): job.status for job in await all_jobs(store)}


async def test_committed_work_starts_at_once_and_lanes_keep_their_order(store: Store) -> None:
    box = make_outbox(store)
    release, started = asyncio.Event(), []

    async def handle(work: Work[PostNote]) -> None:
        started.append(work.job.text)
        if work.job.text == "0":
            await release.wait()

    box.handle(PostNote, handle)
    await add_notes(box, "a", "a", "b")  # 0 and 2 lead their lanes; 1 waits behind 0
    await asyncio.sleep(0)  # the started jobs' tasks get going
    while len(started) < 2:
        await asyncio.sleep(0)
    assert sorted(started) == ["0", "2"]
    assert await box.run_due() == 0  # 1 cannot be claimed while 0 is running
    release.set()
    await box.idle()
    assert await box.run_due() == 1
    assert started[-1] == "1"
    assert set((await statuses(store)).values()) == {"done"}


async def test_retry_after_giving_up_and_jobs_nobody_handles_yet(store: Store) -> None:
    clock = Clock()
    box = make_outbox(store, clock, max_attempts=3)

    async def busy(work: Work[PostNote]) -> None:
        raise RetryLater("429", after=30)

    async def never(work: Work[UpdateCard]) -> None:
        raise GiveUp("blocked")

    box.handle(PostNote, busy)
    box.handle(UpdateCard, never)
    async with box.transaction() as tx:
        await tx.enqueue(PostNote("busy"), conversation_id=None, lane=None)
        await tx.enqueue(UpdateCard("closed"), conversation_id=None, lane=None)
        await tx.enqueue(Deliver(1), conversation_id=None, lane=None)  # no handler: waits
    await box.idle()
    busy_job, never_job, waiting = sorted(await all_jobs(store), key=lambda j: j.id or 0)
    assert (busy_job.status, busy_job.attempts, busy_job.last_error) == ("pending", 1, "429")
    assert busy_job.run_after == NOW + timedelta(seconds=30)
    assert (never_job.status, never_job.attempts, never_job.last_error) == ("failed", 1, "blocked")
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert await box.run_due() == 0  # not due before Retry-After

    for hours in (1, 2):
        clock.now = NOW + timedelta(hours=hours)
        assert await box.run_due() == 1
    busy_job = next(j for j in await all_jobs(store) if j.id == busy_job.id)
    assert (busy_job.status, busy_job.attempts) == ("failed", 3)


async def test_an_unexpected_error_is_retried_with_backoff(store: Store) -> None:
    box = make_outbox(store)

    async def broken(work: Work[PostNote]) -> None:
        raise RuntimeError("bug")

    box.handle(PostNote, broken)
    await add_notes(box, None)
    await box.idle()
    job = (await all_jobs(store))[0]
    assert job.status == "pending"
    assert job.last_error == "RuntimeError: bug"
    assert NOW + timedelta(seconds=0.5) < job.run_after < NOW + timedelta(seconds=1.5)


async def test_a_result_commits_with_the_completion_or_not_at_all(store: Store) -> None:
    box = make_outbox(store)
    fail = True

    async def handle(work: Work[PostNote]) -> Any:
        async def record(tx: Tx) -> None:
            await tx.enqueue(UpdateCard("closed"), conversation_id=None, lane=None)
            if fail:
                raise RuntimeError("the result could not be stored")

        return record

    box.handle(PostNote, handle)
    await add_notes(box, None)
    await box.idle()
    assert await statuses(store) == {"0": "pending"}  # retried, and nothing it wrote stayed
    fail = False
    box.clock.now = NOW + timedelta(minutes=1)  # type: ignore[attr-defined]
    assert await box.run_due() == 1
    assert await statuses(store) == {"0": "done", "card.update": "pending"}


async def test_what_waits_for_the_commit_happens_only_if_it_commits(store: Store) -> None:
    box, done, heard = make_outbox(store), list[str](), list[tuple[str, list[str]]]()
    box.news.subscribe("customer", lambda news: heard.append((news, list(done))))

    async def failing() -> None:
        async with box.transaction() as tx:
            tx.after_commit(lambda: done.append("rolled back"))
            tx.announce("customer:1:1")
            raise RuntimeError("the message could not be stored")

    with pytest.raises(RuntimeError):
        await failing()
    async with box.transaction() as tx:
        tx.after_commit(lambda: done.append("committed"))
        tx.announce("customer:1:2")
    assert done == ["committed"]
    assert heard == [("customer:1:2", ["committed"])]  # the news after the step


async def test_a_crashed_instances_jobs_are_taken_over_when_its_lease_lapses(store: Store) -> None:
    clock = Clock()
    crashed = make_outbox(store, clock, lease=15)
    ran: list[str] = []
    hang = asyncio.Event()

    async def stuck(work: Work[PostNote]) -> None:
        await hang.wait()

    crashed.handle(PostNote, stuck)
    await add_notes(crashed, "a")  # started at once by the instance that committed it
    await asyncio.sleep(0)
    await crashed.stop()  # the instance dies mid-job: its claim stays in the database

    survivor = make_outbox(Store(store.url), clock, lease=15)

    async def done(work: Work[PostNote]) -> None:
        ran.append(work.job.text)

    survivor.handle(PostNote, done)
    clock.now = NOW + timedelta(seconds=10)
    assert await survivor.run_due() == 0  # still leased
    clock.now = NOW + timedelta(seconds=16)
    assert await survivor.run_due() == 1
    assert ran == ["0"]
    job = (await all_jobs(store))[0]
    assert (job.status, job.attempts) == ("done", 2)
    await survivor.store.close()


async def test_a_run_that_outlived_its_lease_stores_nothing(store: Store) -> None:
    """A run paused past its lease (the job was taken over and finished meanwhile):
    the result it then tries to store is rolled back, so nothing happens twice."""
    clock = Clock()
    slow_box, release = make_outbox(store, clock, lease=15), asyncio.Event()

    async def slow(work: Work[PostNote]) -> Any:
        await release.wait()

        async def record(tx: Tx) -> None:
            await tx.enqueue(UpdateCard("closed", by="slow"), conversation_id=None, lane=None)

        return record

    slow_box.handle(PostNote, slow)
    await add_notes(slow_box, None)
    clock.now = NOW + timedelta(seconds=16)
    fast_box = make_outbox(Store(store.url), clock, lease=15)

    async def fast(work: Work[PostNote]) -> Any:
        async def record(tx: Tx) -> None:
            await tx.enqueue(UpdateCard("closed", by="fast"), conversation_id=None, lane=None)

        return record

    fast_box.handle(PostNote, fast)
    assert await fast_box.run_due() == 1
    release.set()
    await slow_box.idle()
    await fast_box.store.close()
    results = [j.payload for j in await all_jobs(store) if j.kind == "card.update"]
    assert [p["by"] for p in results] == ["fast"]


async def test_a_running_job_keeps_its_lease(store: Store) -> None:
    clock = Clock()
    box = make_outbox(store, clock, lease=15)
    release = asyncio.Event()

    async def slow(work: Work[PostNote]) -> None:
        await release.wait()

    box.handle(PostNote, slow)
    await add_notes(box, None)
    await asyncio.sleep(0)
    clock.now = NOW + timedelta(seconds=60)
    await box.renew_leases()
    other = make_outbox(Store(store.url), clock, lease=15)
    other.handle(PostNote, slow)
    assert await other.run_due() == 0  # renewed: not taken over while it runs
    release.set()
    await box.idle()
    await other.store.close()


async def test_rows_written_by_version_0_1_still_run(store: Store) -> None:
    box = make_outbox(store)
    handled: list[Any] = []

    async def handle(work: Work[Any]) -> None:
        handled.append(work.job)

    for kind in (PostNote, UpdateCard, Deliver):
        box.handle(kind, handle)
    async with store.transaction() as connection:
        for kind, payload in (
            ("slack.post", {"note": "This reply did not reach the customer"}),
            ("slack.update", {"closed_by": "U0PRIYA01"}),
            ("slack.update", {"transferred_to": "sam", "by": "U0PRIYA01", "thread": ["D1", "1.5"]}),
            ("telegram.send", {"message_id": 7}),
        ):
            await connection.execute(outbox.insert().values(kind=kind, payload=payload,
                                     status="pending", attempts=0, checkpoint=0, run_after=NOW,
                                     created_at=NOW))  # fmt: skip
    assert await box.run_due() == 4
    assert handled == [
        PostNote("This reply did not reach the customer"),
        UpdateCard("closed", by="U0PRIYA01"),
        UpdateCard("transferred", by="U0PRIYA01", to="sam", at=("D1", "1.5")),
        Deliver(7),
    ]


@pytest.mark.parametrize(
    "job", [PostNote("x"), UpdateCard("transferred", "priya", "sam", ("D1", "1.5")), Deliver(3)]
)
def test_jobs_are_stored_readably_and_read_back(job: Any) -> None:
    kind, payload = encode(job)
    assert "." in kind
    assert decode(kind, payload) == job


async def test_two_claimers_run_each_job_once(store: Store) -> None:
    handled: list[str] = []

    async def handle(work: Work[PostNote]) -> None:
        handled.append(work.job.text)
        await asyncio.sleep(0)

    first, second = make_outbox(store), make_outbox(Store(store.url))
    for box in (first, second):
        box.handle(PostNote, handle)
    async with store.transaction() as connection:  # written elsewhere: nothing started yet
        for i in range(40):
            await connection.execute(outbox.insert().values(kind="thread.note", payload={"text": str(i)},
                                     lane=f"lane-{i % 7}", status="pending", attempts=0, checkpoint=0,
                                     run_after=NOW, created_at=NOW))  # fmt: skip
    async with asyncio.timeout(30):
        while len(handled) < 40:
            await asyncio.gather(first.run_due(limit=3), second.run_due(limit=3))
    await second.store.close()
    assert sorted(handled, key=int) == [str(i) for i in range(40)]
    async with store.reading() as connection:
        claimed = (await connection.execute(select(outbox.c.attempts))).scalars().all()
    assert set(claimed) == {1}


def test_backoff_doubles_to_ten_minutes() -> None:
    import random

    rng = random.Random(1)
    delays = [backoff(n, rng) for n in (1, 2, 3, 4, 10, 30)]
    assert 0.8 <= delays[0] <= 1.2
    assert 1.6 <= delays[1] <= 2.4
    assert 3.2 <= delays[2] <= 4.8
    assert 480 <= delays[5] <= 720
    assert delays == sorted(delays)
