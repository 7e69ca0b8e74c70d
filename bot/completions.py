"""How the outbox's jobs ended, written in batches: jobs that end together share a
transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.metrics import Metrics
from bot.store import Store, queue
from bot.tables import OutboxJob

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Outcomes gather this long before they are written, so that jobs ending together
# share a transaction (a crash before the write reruns a job, as it always could).
GATHER = 0.010  # s


class Completions:
    """How jobs ended, written in batches: what finishes while one batch is being
    written goes into the next, so a busy outbox commits far less often than it runs
    jobs. `written` is called after a batch that ends a job in a lane where another
    waits (it can go on now), not after every batch; a job another instance queues
    in such a lane while the batch commits is found by the next poll."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        clock: Clock,
        max_attempts: int,
        written: Callable[[], None],
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.max_attempts = max_attempts
        self.written = written
        self._waiting: list[dict[str, Any]] = []
        self._freeing: set[str] = set()  # the lanes whose jobs are waiting to be written
        self._writing: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return bool(self._waiting) or not (self._writing is None or self._writing.done())

    def add(self, row: OutboxJob, outcome: str, error: str | None, delay: float) -> None:
        if outcome == "retry" and row.attempts >= self.max_attempts:
            outcome = "failed"
        self.report(row, outcome, error)
        self._waiting.append(self.outcome(row, outcome, error, delay))
        if outcome != "retry" and row.lane is not None:
            self._freeing.add(row.lane)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._gather(), name="outbox-completions")

    def outcome(
        self, row: OutboxJob, outcome: str, error: str | None, delay: float
    ) -> dict[str, Any]:
        now = self.clock()
        retry = outcome == "retry"
        return {
            "job": row.id,
            "outcome": "pending" if retry else outcome,
            "after": now + timedelta(seconds=delay) if retry else now,
            "finished": None if retry else now,
            "error": error,
        }

    async def _gather(self) -> None:
        try:
            await asyncio.sleep(GATHER)
        finally:
            await self.flush()  # stopped while gathering, too: what ended is recorded

    async def flush(self) -> None:
        """Write the outcomes gathered so far, one transaction a batch."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            freeing, self._freeing = self._freeing, set()
            next_in_lane = False
            try:
                async with self.store.transaction() as connection:
                    await queue.finish(connection, batch)
                    next_in_lane = await queue.pending_in_any(connection, freeing)
            except Exception:
                log.exception("outbox failed to record finished jobs; their leases will lapse")
            if next_in_lane:
                self.written()

    async def settled(self) -> None:
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)

    async def stop(self) -> None:
        if self._writing is not None:
            self._writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writing
        self._writing = None

    def report(self, row: OutboxJob, outcome: str, error: str | None) -> None:
        self.metrics.jobs.labels(row.kind, outcome).inc()
        level = {"done": logging.DEBUG, "retry": logging.INFO}.get(outcome, logging.WARNING)
        log.log(
            level,
            "outbox job %s",
            outcome,
            extra={"job": row.id, "kind": row.kind, "attempt": row.attempts, "error": error},
        )
