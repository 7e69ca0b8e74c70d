"""The outbox and inbox tables: jobs added inside the transactions that need them,
claimed in batches (first in their lane only), leases renewed while they run, finished
in batches; raw updates from channels kept once per channel id."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, literal_column, select, text, update
from sqlalchemy.sql.elements import ColumnClause

from bot.store import Connection
from bot.store.rows import insert_or_ignore, model, models
from bot.tables import OutboxJob, inbox, outbox

# Literal, not a bound parameter, so that the partial indexes on pending jobs apply.
_PENDING: ColumnClause[str] = literal_column("'pending'")


async def enqueue(
    connection: Connection,
    kind: str,
    payload: dict[str, Any],
    *,
    conversation_id: int | None,
    lane: str | None,
    now: datetime,
    claim_until: datetime | None = None,
    finishing: int | None = None,
) -> tuple[OutboxJob, bool]:
    """Add a job to the caller's transaction (it exists only if that commits). With
    `claim_until`, the job is claimed for this instance at once if nothing is ahead of
    it in its lane, so it can start right after the commit without a claim of its own.
    `finishing` is a job this transaction completes, which does not count as ahead.
    Returns the job and whether it was claimed."""
    claimed = claim_until is not None and await _lane_is_free(connection, lane, finishing)
    fields = {
        "kind": kind,
        "payload": payload,
        "conversation_id": conversation_id,
        "lane": lane,
        "status": "pending",
        "attempts": 1 if claimed else 0,
        "checkpoint": 0,
        "run_after": now,
        "locked_until": claim_until if claimed else None,
        "last_error": None,
        "created_at": now,
        "finished_at": None,
    }
    result = await connection.execute(outbox.insert().values(fields).returning(outbox.c.id))
    job = model(OutboxJob, {"id": result.scalar_one(), **fields})
    return job, claimed


async def _lane_is_free(connection: Connection, lane: str | None, finishing: int | None) -> bool:
    if lane is None:
        return True
    if connection.dialect.name == "postgresql":
        # Two instances adding to one lane at once would both find it free.
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:lane))"), {"lane": lane}
        )
    ahead = await connection.execute(
        select(outbox.c.id)
        .where(outbox.c.lane == lane, outbox.c.status == _PENDING, outbox.c.id != (finishing or 0))
        .limit(1)
    )
    return ahead.first() is None


async def claim(
    connection: Connection, kinds: Collection[str], now: datetime, until: datetime, limit: int
) -> list[OutboxJob]:
    """Due jobs of these kinds that are first in their lane, claimed until `until` in
    one statement; on PostgreSQL, rows another instance is claiming are skipped."""
    earlier = outbox.alias("earlier")
    first_in_lane = ~exists().where(
        earlier.c.lane == outbox.c.lane, earlier.c.status == _PENDING, earlier.c.id < outbox.c.id
    )
    due = (
        select(outbox.c.id)
        .where(outbox.c.status == _PENDING, outbox.c.run_after <= now)
        .where((outbox.c.locked_until.is_(None)) | (outbox.c.locked_until < now))
        .where(outbox.c.kind.in_(kinds), first_in_lane)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = await connection.execute(
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(locked_until=until, attempts=outbox.c.attempts + 1)
        .returning(*outbox.c)
    )
    return sorted(models(OutboxJob, rows.all()), key=lambda job: job.id or 0)


async def renew(connection: Connection, ids: Collection[int], until: datetime) -> None:
    """Keep running jobs claimed: a lease that lapses means the instance died."""
    await connection.execute(
        update(outbox)
        .where(outbox.c.id.in_(list(ids)), outbox.c.status == _PENDING)
        .values(locked_until=until)
    )


async def finish(connection: Connection, outcomes: Sequence[dict[str, Any]]) -> None:
    """Record how jobs ended, in one statement: each outcome gives `job`, `status`
    (pending again for a retry), `run_after`, `finished_at` and `last_error`. A job
    that is no longer pending (finished by a run whose lease had lapsed) is left be."""
    await connection.execute(
        update(outbox)
        .where(outbox.c.id == bindparam("job"), outbox.c.status == _PENDING)
        .values(
            status=bindparam("status"),
            run_after=bindparam("run_after"),
            finished_at=bindparam("finished_at"),
            last_error=bindparam("last_error"),
            locked_until=None,
        ),
        list(outcomes),
    )


async def finish_one(connection: Connection, outcome: dict[str, Any]) -> bool:
    """Record how one job ended (see `finish`); False if it was no longer pending."""
    result = await connection.execute(
        update(outbox)
        .where(outbox.c.id == outcome["job"], outbox.c.status == _PENDING)
        .values({**{k: v for k, v in outcome.items() if k != "job"}, "locked_until": None})
    )
    return bool(result.rowcount)


async def save_checkpoint(connection: Connection, job_id: int, checkpoint: int) -> None:
    await connection.execute(
        update(outbox).where(outbox.c.id == job_id).values(checkpoint=checkpoint)
    )


async def jobs(connection: Connection, status: str, limit: int = 100) -> list[OutboxJob]:
    rows = await connection.execute(
        select(outbox).where(outbox.c.status == status).order_by(outbox.c.id.desc()).limit(limit)
    )
    return models(OutboxJob, rows.all())


async def job(connection: Connection, job_id: int) -> OutboxJob:
    return model(
        OutboxJob, (await connection.execute(select(outbox).where(outbox.c.id == job_id))).one()
    )


async def counts(connection: Connection) -> dict[str, int]:
    query = select(outbox.c.status, func.count().label("jobs")).group_by(outbox.c.status)
    return {row.status: int(row.jobs) for row in (await connection.execute(query)).all()}


async def store_inbound(
    connection: Connection, channel: str, key: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Keep an update from a channel; False if this channel sent it before."""
    added = await connection.execute(
        insert_or_ignore(connection, inbox, "channel", "key")
        .values(channel=channel, key=key, payload=payload, received_at=now)
        .returning(inbox.c.id)
    )
    return added.first() is not None


async def inbound(connection: Connection, channel: str, key: str) -> dict[str, Any] | None:
    found = await connection.execute(
        select(inbox.c.payload).where(inbox.c.channel == channel, inbox.c.key == key)
    )
    payload = found.scalar()
    return dict(payload) if payload is not None else None


async def last_inbound(connection: Connection, channel: str) -> dict[str, Any] | None:
    """The update from a channel stored last (where long polling resumes)."""
    found = await connection.execute(
        select(inbox.c.payload)
        .where(inbox.c.channel == channel)
        .order_by(inbox.c.id.desc())
        .limit(1)
    )
    payload = found.scalar()
    return dict(payload) if payload is not None else None
