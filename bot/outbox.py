"""The outbox: work committed in the same transaction as the data it is about, then
done by this instance at once (or by any instance, claimed in batches), retried with
backoff that honours Retry-After, in order within a lane, with leases that are renewed
while a job runs so that a crashed instance's jobs are taken over within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeVar

from bot import legacy
from bot.completions import Clock, Completions
from bot.jobs import Job, UnknownJob, decode, encode, kind_of
from bot.metrics import Metrics
from bot.news import News
from bot.store import Connection, Store, queue
from bot.tables import OutboxJob, utcnow

log = logging.getLogger(__name__)

J = TypeVar("J", bound=Job)
JOBS = "jobs"  # the news that there is work to claim


class RetryLater(Exception):
    """The job could not be done now; `after` is how long the far side asked us to
    wait (a 429's Retry-After), or None for exponential backoff."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class GiveUp(Exception):
    """The job can never succeed (a blocked bot, a deleted channel): stop retrying."""


class FinishedElsewhere(Exception):
    """A job's result was about to be stored, but another run finished the job first."""


@dataclass(frozen=True)
class Work(Generic[J]):
    """A job being done: which attempt this is, and how far earlier attempts got."""

    job: J
    id: int
    attempt: int
    checkpoint: int
    conversation_id: int | None


class Tx:
    """A transaction in progress: its connection, the jobs it adds, the news it will
    announce. Jobs and news exist only if it commits."""

    def __init__(self, connection: Connection, outbox: Outbox) -> None:
        self.connection = connection
        self.outbox = outbox
        self.started: list[OutboxJob] = []  # claimed for this instance: run after commit
        self.queued = False  # added for whichever instance claims them
        self.news: set[str] = set()
        self.committed: list[Callable[[], None]] = []  # what to do once it commits
        self.finishing: int | None = None  # the job whose result this transaction stores

    async def enqueue(
        self,
        job: Job,
        *,
        conversation_id: int | None,
        lane: str | None = "",
        run_after: datetime | None = None,
    ) -> None:
        """Add a job, in order within `lane` (by default the conversation's), to run now
        or at `run_after`."""
        if lane == "":
            lane = f"conversation:{conversation_id}" if conversation_id is not None else None
        kind, payload = encode(job)
        now = self.outbox.clock()
        handled = kind in self.outbox.handlers
        until = now + self.outbox.lease if handled else None
        row, claimed = await queue.enqueue(
            self.connection, kind, payload,
            conversation_id=conversation_id, lane=lane, now=now, claim_until=until,
            finishing=self.finishing, run_after=run_after,
        )  # fmt: skip
        if claimed:
            self.started.append(row)
        else:
            self.queued = True

    def announce(self, news: str) -> None:
        self.news.add(news)

    def after_commit(self, step: Callable[[], None]) -> None:
        """Do `step` once the transaction commits, before its news is heard."""
        self.committed.append(step)


Record = Callable[[Tx], Awaitable[None]]  # what a job's success writes, with its completion
Handler = Callable[[Work[Any]], Awaitable[Record | None]]


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempts + 1`: 1, 2, 4 ... capped at 10 minutes, ±20%."""
    base = min(2.0 ** max(attempts - 1, 0), 600.0)
    return base * (rng or _rng).uniform(0.8, 1.2)


_rng = random.Random()  # noqa: S311 - jitter, not security


class Outbox:
    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        news: News,
        *,
        concurrency: int = 64,
        lease: float = 15.0,
        max_attempts: int = 20,
        poll: float = 1.0,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.news = news
        self.handlers: dict[str, Handler] = {}
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease)
        self.poll = poll
        self.clock = clock
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[int, asyncio.Task[None]] = {}
        self.completions = Completions(store, metrics, self._now, max_attempts, self.wake)
        news.subscribe(JOBS, lambda _news: self.wake())

    def _now(self) -> datetime:
        return self.clock()  # tests move the clock after the outbox is made

    def handle(self, kind: type[J], handler: Callable[[Work[J]], Awaitable[Record | None]]) -> None:
        """Jobs of kinds without a handler (a desk not configured yet) wait, stored."""
        self.handlers[kind_of(kind)] = handler

    def claimable(self) -> list[str]:
        old = [k for k, new in legacy.OLD_KINDS.items() if any(n in self.handlers for n in new)]
        return [*self.handlers, *old]

    def wake(self) -> None:
        self._wake.set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A transaction whose jobs start, and whose news is heard, once it commits."""
        async with self.store.transaction() as connection:
            tx = Tx(connection, self)
            yield tx
            if tx.queued:
                tx.news.add(JOBS)
            if tx.news:
                await self.news.publish(connection, *tx.news)
        for step in tx.committed:
            try:
                step()
            except Exception:  # what was committed stands, and its news and jobs go on
                log.exception("a step after a commit failed")
        for news in tx.news:  # first: a customer waiting for a reply goes before the jobs
            self.news.deliver(news)
        self._start(tx.started)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="outbox"),
            asyncio.create_task(self._renew(), name="outbox-leases"),
        ]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._running.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.completions.stop()
        self._tasks, self._running = [], {}

    async def run_due(self, limit: int = 50) -> int:
        """Claim and run, one after another, the jobs that are due now; how many ran."""
        jobs = await self._claim(limit)
        for job in jobs:
            await self._run(job)
        await self.completions.flush()
        return len(jobs)

    @property
    def busy(self) -> bool:
        """Whether jobs are running or outcomes are waiting to be written."""
        return bool(self._running) or self.completions.busy

    async def idle(self) -> None:
        """Wait until the jobs started so far have run and their outcomes are written."""
        while self.busy:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            await self.completions.settled()
            await asyncio.sleep(0)

    async def save_checkpoint(self, work: Work[Any], checkpoint: int) -> None:
        async with self.store.transaction() as connection:
            await queue.save_checkpoint(connection, work.id, checkpoint)

    def _start(self, jobs: list[OutboxJob]) -> None:
        for job in jobs:
            assert job.id is not None
            task = asyncio.create_task(self._run(job), name=f"outbox-job-{job.id}")
            self._running[job.id] = task
            task.add_done_callback(partial(self._done, job.id))

    def _done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        if len(self._running) >= self.concurrency - 1:
            self.wake()  # a slot is free for the jobs the dispatcher had no room for

    async def _dispatch(self) -> None:
        """Claim as many due jobs as there are free slots; sleep until woken (new work,
        a job finished) or the poll interval passes."""
        while True:
            self._wake.clear()
            free = self.concurrency - len(self._running)
            claimed: list[OutboxJob] = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except Exception:
                    log.exception("outbox failed to claim jobs")
            self._start(claimed)
            if len(claimed) < free or free <= 0:
                with contextlib.suppress(TimeoutError):  # not wait_for: see widget.Connection
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.renew_leases()
            except Exception:
                log.exception("outbox failed to renew its leases")

    async def renew_leases(self) -> None:
        """Extend the claims on the jobs running here: while this instance lives, no
        other takes them over."""
        if self._running:
            async with self.store.transaction() as connection:
                await queue.renew(connection, list(self._running), self.clock() + self.lease)

    async def _claim(self, limit: int) -> list[OutboxJob]:
        now = self.clock()
        async with self.store.transaction() as connection:
            return await queue.claim(connection, self.claimable(), now, now + self.lease, limit)

    async def _run(self, row: OutboxJob) -> None:
        assert row.id is not None
        outcome, error, delay, record = "done", None, 0.0, None
        try:
            job = decode(row.kind, dict(row.payload))
            work = Work(job, row.id, row.attempts, row.checkpoint, row.conversation_id)
            record = await self.handlers[kind_of(job)](work)
        except RetryLater as exc:
            outcome, error = "retry", str(exc)
            delay = exc.after if exc.after is not None else backoff(row.attempts)
        except (GiveUp, UnknownJob) as exc:
            outcome, error = "failed", str(exc)
        except Exception as exc:
            log.exception("outbox job raised", extra={"job": row.id, "kind": row.kind})
            outcome, error, delay = "retry", f"{type(exc).__name__}: {exc}", backoff(row.attempts)
        if outcome == "done" and record is not None:
            try:
                await self._record(row, record)
                return
            except FinishedElsewhere:
                log.warning("outbox job finished by another run", extra={"job": row.id})
                return
            except Exception as exc:
                log.exception("outbox job's result not stored", extra={"job": row.id})
                error = f"{type(exc).__name__}: {exc}"
                outcome, delay = "retry", backoff(row.attempts)
        self.completions.add(row, outcome, error, delay)

    async def _record(self, row: OutboxJob, record: Record) -> None:
        """A job's result and its completion commit together: a crash cannot leave the
        result without the completion, and so cannot make the job run twice."""
        async with self.transaction() as tx:
            tx.finishing = row.id
            await record(tx)
            if not await queue.finish_one(
                tx.connection, self.completions.outcome(row, "done", None, 0.0)
            ):
                raise FinishedElsewhere  # its lease lapsed and another run did it: roll back
            lanes = [row.lane] if row.lane is not None else []
            next_in_lane = await queue.pending_in_any(tx.connection, lanes, claimed=tx.started)
        self.completions.report(row, "done", None)
        if next_in_lane:
            self.wake()
