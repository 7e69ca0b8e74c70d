"""The outbox: work committed in the same transaction as the data it is about, then
done by workers, retried with backoff that honours Retry-After, in order within a
conversation, and safe with several app instances on one database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.metrics import Metrics
from bot.store import Store
from bot.tables import OutboxJob, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[OutboxJob], Awaitable[None]]
Clock = Callable[[], datetime]


class RetryLater(Exception):
    """The job could not be done now; `after` is how long the far side asked us to
    wait (a 429's Retry-After), or None for exponential backoff."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class GiveUp(Exception):
    """The job can never succeed (a blocked bot, a deleted channel): stop retrying."""


def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    conversation_id: int | None,
    lane: str | None = None,
) -> OutboxJob:
    """Add a job to the caller's transaction: it exists only if that commits. Jobs
    run in order within their lane, by default their conversation."""
    if lane is None and conversation_id is not None:
        lane = f"conversation:{conversation_id}"
    job = OutboxJob(kind=kind, payload=payload, conversation_id=conversation_id, lane=lane)
    session.add(job)
    return job


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
        *,
        workers: int = 4,
        lease: float = 120.0,
        max_attempts: int = 20,
        poll: float = 1.0,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.handlers: dict[str, Handler] = {}
        self.workers = workers
        self.lease = timedelta(seconds=lease)
        self.max_attempts = max_attempts
        self.poll = poll
        self.clock = clock
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    def register(self, handlers: Mapping[str, Handler]) -> None:
        """Jobs of kinds without a handler (Slack before it is configured) wait, stored."""
        self.handlers.update(handlers)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._dispatcher = asyncio.create_task(self._dispatch(), name="outbox")

    async def stop(self) -> None:
        tasks = [t for t in (self._dispatcher, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._dispatcher, self._running = None, set()

    async def run_due(self, limit: int = 50) -> int:
        """Claim and run, one after another, the jobs that are due now; how many ran."""
        jobs = await self._claim(limit)
        for job in jobs:
            await self._run(job)
        return len(jobs)

    async def _dispatch(self) -> None:
        """Claim as many due jobs as there are free workers and run them concurrently;
        sleep until woken (new work, a job finished) or the poll interval passes."""
        while True:
            self._wake.clear()
            free = self.workers - len(self._running)
            claimed: list[OutboxJob] = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except Exception:
                    log.exception("outbox failed to claim jobs")
            for job in claimed:
                task = asyncio.create_task(self._run(job), name=f"outbox-job-{job.id}")
                self._running.add(task)
                task.add_done_callback(self._finished)
            if not claimed:
                with contextlib.suppress(TimeoutError):  # not wait_for: see widget.Connection._push
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self.wake()

    async def _claim(self, limit: int) -> list[OutboxJob]:
        """Due jobs that are first in their lane, each claimed with a conditional
        update so that only one worker on any instance gets it."""
        now = self.clock()
        earlier = aliased(OutboxJob)
        free = or_(col(OutboxJob.locked_until).is_(None), col(OutboxJob.locked_until) < now)
        first_in_line = ~exists().where(
            col(earlier.lane) == col(OutboxJob.lane),
            col(earlier.status) == "pending",
            col(earlier.id) < col(OutboxJob.id),
        )
        async with self.store.session() as session:
            candidates = await session.exec(
                select(OutboxJob)
                .where(OutboxJob.status == "pending", OutboxJob.run_after <= now, free)
                .where(col(OutboxJob.kind).in_(self.handlers), first_in_line)
                .order_by(col(OutboxJob.id))
                .limit(limit)
            )
            jobs = list(candidates.all())
            session.expunge_all()  # only the conditional updates below write
            claimed = []
            for job in jobs:
                result = await session.exec(
                    update(OutboxJob)
                    .where(col(OutboxJob.id) == job.id, col(OutboxJob.status) == "pending", free)
                    .values(locked_until=now + self.lease, attempts=col(OutboxJob.attempts) + 1)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    job.attempts += 1
                    claimed.append(job)
            await session.commit()
        return claimed

    async def _run(self, job: OutboxJob) -> None:
        outcome, error, delay = "done", None, 0.0
        try:
            await self.handlers[job.kind](job)
        except RetryLater as exc:
            outcome, error = "retry", str(exc)
            delay = exc.after if exc.after is not None else backoff(job.attempts)
        except GiveUp as exc:
            outcome, error = "failed", str(exc)
        except Exception as exc:
            log.exception("outbox job raised", extra={"job": job.id, "kind": job.kind})
            outcome, error, delay = "retry", f"{type(exc).__name__}: {exc}", backoff(job.attempts)
        if outcome == "retry" and job.attempts >= self.max_attempts:
            outcome = "failed"
        self.metrics.jobs.labels(job.kind, outcome).inc()
        log.log(
            logging.WARNING if outcome == "failed" else logging.INFO,
            "outbox job %s",
            outcome,
            extra={"job": job.id, "kind": job.kind, "attempt": job.attempts, "error": error},
        )
        now = self.clock()
        values: dict[str, Any] = {"locked_until": None, "last_error": error}
        if outcome == "retry":
            values["run_after"] = now + timedelta(seconds=delay)
        else:
            values.update(status=outcome, finished_at=now)
        async with self.store.session() as session:
            await session.exec(
                update(OutboxJob).where(col(OutboxJob.id) == job.id).values(**values)
            )
            await session.commit()
