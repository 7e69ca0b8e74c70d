"""The outbox and inbox tables: jobs added inside the transactions that need them,
claimed in batches (first in their lane only), leases renewed while they run, finished
in batches; raw updates from channels kept once per channel id."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    null,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import ColumnClause

from bot.store import Connection
from bot.store.rows import ignoring, model, models
from bot.tables import OutboxJob, inbox, outbox

# Literal, not a bound parameter, so that the partial indexes on pending jobs apply.
_PENDING: ColumnClause[str] = literal_column("'pending'")
_ADD = insert(outbox).returning(outbox.c.id)
_LOCK_LANE = text("SELECT pg_advisory_xact_lock(hashtext(:lane))")
_IN_LANES = (
    select(outbox.c.id)
    .where(outbox.c.lane.in_(bindparam("lanes", expanding=True)), outbox.c.status == _PENDING)
    .limit(1)
)
_FREE = ~exists().where(
    outbox.c.lane == bindparam("ahead_in"),
    outbox.c.status == _PENDING,
    outbox.c.id != bindparam("finishing"),
)
# Added and claimed in one statement when nothing is ahead of it in its lane.
_ADD_IF_FREE = (
    insert(outbox)
    .values(
        attempts=case((_FREE, 1), else_=0),
        locked_until=case(
            (_FREE, bindparam("claim_until", type_=outbox.c.locked_until.type)), else_=null()
        ),
    )
    .returning(outbox.c.id, outbox.c.attempts)
)
_EARLIER = outbox.alias("earlier")
_DUE = (
    select(outbox.c.id)
    .where(outbox.c.status == _PENDING, outbox.c.run_after <= bindparam("now"))
    .where(outbox.c.locked_until.is_(None) | (outbox.c.locked_until < bindparam("now")))
    .where(outbox.c.kind.in_(bindparam("kinds", expanding=True)))
    .where(
        ~exists().where(
            _EARLIER.c.lane == outbox.c.lane,
            _EARLIER.c.status == _PENDING,
            _EARLIER.c.id < outbox.c.id,
        )
    )
    .order_by(outbox.c.id)
    .limit(bindparam("limit"))
)
_CLAIMS = {
    dialect: update(outbox)
    .where(outbox.c.id.in_(due.scalar_subquery()))
    .values(locked_until=bindparam("until"), attempts=outbox.c.attempts + 1)
    .returning(*outbox.c)
    # On PostgreSQL, rows another instance is claiming at this moment are skipped.
    for dialect, due in (("sqlite", _DUE), ("postgresql", _DUE.with_for_update(skip_locked=True)))
}
_RENEW = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)), outbox.c.status == _PENDING)
    .values(locked_until=bindparam("until"))
)
_FINISH = (
    update(outbox)
    .where(outbox.c.id == bindparam("job"), outbox.c.status == _PENDING)
    .values(
        status=bindparam("outcome"),
        run_after=bindparam("after"),
        finished_at=bindparam("finished"),
        last_error=bindparam("error"),
        locked_until=None,
    )
)
_CHECKPOINT = (
    update(outbox).where(outbox.c.id == bindparam("job")).values(checkpoint=bindparam("n"))
)
_ADD_INBOUND = ignoring(inbox, "channel", "key")
_INBOUND = select(inbox.c.payload).where(
    inbox.c.channel == bindparam("channel"), inbox.c.key == bindparam("key")
)
_REJECTED = (
    select(inbox.c.channel, inbox.c.key, inbox.c.rejected, inbox.c.received_at)
    .where(inbox.c.rejected.is_not(None))
    .order_by(inbox.c.id.desc())
    .limit(bindparam("limit"))
)
_LAST_INBOUND = (
    select(inbox.c.key)
    .where(inbox.c.channel == bindparam("channel"))
    .order_by(inbox.c.id.desc())
    .limit(1)
)


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
    run_after: datetime | None = None,
) -> tuple[OutboxJob, bool]:
    """Add a job to the caller's transaction (it exists only if that commits). With
    `claim_until`, the job is claimed for this instance at once if nothing is ahead of
    it in its lane, so it can start right after the commit without a claim of its own.
    `finishing` is a job this transaction completes, which does not count as ahead. A
    job with `run_after` later than `now` waits until then. Returns the job and whether
    it was claimed."""
    later = run_after is not None and run_after > now
    fields = {
        "kind": kind,
        "payload": payload,
        "conversation_id": conversation_id,
        "lane": lane,
        "status": "pending",
        "checkpoint": 0,
        "run_after": run_after if later else now,
        "last_error": None,
        "created_at": now,
        "finished_at": None,
    }
    if claim_until is None or later:
        claimed = False
    elif lane is None:
        claimed = True
    else:
        if connection.dialect.name == "postgresql":
            # Two instances adding to one lane at once would both find it free. Its own
            # statement: the INSERT's snapshot must begin after the lock is held.
            await connection.execute(_LOCK_LANE, {"lane": lane})
        free = {"claim_until": claim_until, "ahead_in": lane, "finishing": finishing or 0}
        added = (await connection.execute(_ADD_IF_FREE, {**fields, **free})).one()
        claimed = added.attempts == 1
        return _job(added.id, fields, claim_until if claimed else None), claimed
    result = await connection.execute(
        _ADD, {**fields, "attempts": int(claimed), "locked_until": claim_until if claimed else None}
    )
    return _job(result.scalar_one(), fields, claim_until if claimed else None), claimed


def _job(job_id: int, fields: dict[str, Any], claimed_until: datetime | None) -> OutboxJob:
    attempts = int(claimed_until is not None)
    return model(
        OutboxJob, {"id": job_id, **fields, "attempts": attempts, "locked_until": claimed_until}
    )


async def pending_in(connection: Connection, lane: str) -> bool:
    """Whether a job is waiting in `lane`. On PostgreSQL the transaction first takes the
    lane's lock, held until it commits: two instances asking at once answer in turn, so
    a job added when none is waiting is added once."""
    if connection.dialect.name == "postgresql":
        await connection.execute(_LOCK_LANE, {"lane": lane})
    return await pending_in_any(connection, [lane])


async def pending_in_any(
    connection: Connection, lanes: Collection[str], *, claimed: Collection[OutboxJob] = ()
) -> bool:
    """Whether a job is waiting in any of these lanes (without their locks: for
    waking the outbox, not for deciding who runs a job). A lane where one of the
    `claimed` jobs runs next is not asked about: that job frees the lane when it ends."""
    lanes = set(lanes).difference(job.lane for job in claimed)
    if not lanes:
        return False
    found = await connection.execute(_IN_LANES, {"lanes": list(lanes)})
    return found.first() is not None


async def claim(
    connection: Connection, kinds: Collection[str], now: datetime, until: datetime, limit: int
) -> list[OutboxJob]:
    """Due jobs of these kinds that are first in their lane, claimed until `until` in
    one statement."""
    rows = await connection.execute(
        _CLAIMS[connection.dialect.name],
        {"now": now, "until": until, "kinds": list(kinds), "limit": limit},
    )
    return sorted(models(OutboxJob, rows.all()), key=lambda job: job.id or 0)


async def renew(connection: Connection, ids: Collection[int], until: datetime) -> None:
    """Keep running jobs claimed: a lease that lapses means the instance died."""
    await connection.execute(_RENEW, {"ids": list(ids), "until": until})


async def finish(connection: Connection, outcomes: Sequence[dict[str, Any]]) -> None:
    """Record how jobs ended, in one statement: each outcome gives `job`, `outcome`
    (pending again for a retry), `after` (when to retry), `finished` and `error`. A job
    that is no longer pending (finished by a run whose lease had lapsed) is left be."""
    await connection.execute(_FINISH, list(outcomes))


async def finish_one(connection: Connection, outcome: dict[str, Any]) -> bool:
    """Record how one job ended (see `finish`); False if it was no longer pending."""
    return bool((await connection.execute(_FINISH, outcome)).rowcount)


async def save_checkpoint(connection: Connection, job_id: int, checkpoint: int) -> None:
    await connection.execute(_CHECKPOINT, {"job": job_id, "n": checkpoint})


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
    connection: Connection,
    channel: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    rejected: str | None = None,
    sender: str | None = None,
) -> bool:
    """Keep an update from a channel (with why it was rejected, if it was, and the
    address of who sent it, if known); False if this channel sent it before."""
    added = await connection.execute(
        _ADD_INBOUND(connection),
        {"channel": channel, "key": key, "payload": payload, "rejected": rejected,
         "received_at": now, "sender": sender},
    )  # fmt: skip
    return added.first() is not None


async def inbound(connection: Connection, channel: str, key: str) -> dict[str, Any] | None:
    payload = (await connection.execute(_INBOUND, {"channel": channel, "key": key})).scalar()
    return dict(payload) if payload is not None else None


async def rejected_inbound(connection: Connection, limit: int) -> list[Row[Any]]:
    """The updates channels sent that could not be read, newest first."""
    return list((await connection.execute(_REJECTED, {"limit": limit})).all())


async def last_inbound(connection: Connection, channel: str) -> str | None:
    """The key of the update from a channel stored last (where long polling resumes;
    its payload may be erased)."""
    return (await connection.execute(_LAST_INBOUND, {"channel": channel})).scalar()
