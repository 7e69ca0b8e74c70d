"""How fast each employee usually replies: the median working time to their first reply
in the conversations given to them lately, when there are enough of them to say."""

from __future__ import annotations

import statistics
from collections.abc import Collection
from datetime import datetime, timedelta

from bot.store import Connection
from bot.store import conversations as stored

WINDOW = timedelta(days=30)  # replies older than this say little about today
ENOUGH = 5  # fewer replies than this: no promise from them
RECENT = 50  # the newest replies counted, at most, per person
_ALL = 20_000  # rows read at most for several people at once (the admin's roster)


async def usual_reply(connection: Connection, employee_id: str, now: datetime) -> float | None:
    """Seconds of working time this employee usually takes to reply first, or None when
    they have replied too rarely lately to say."""
    return (await usual_replies(connection, [employee_id], now)).get(employee_id)


async def usual_replies(
    connection: Connection, employee_ids: Collection[str], now: datetime
) -> dict[str, float]:
    """`usual_reply` for several employees at once (those with too few replies left out)."""
    limit = RECENT if len(employee_ids) == 1 else _ALL
    found: dict[str, list[float]] = {}
    for employee, seconds in await stored.reply_times(
        connection, employee_ids, now - WINDOW, limit
    ):
        times = found.setdefault(employee, [])
        if len(times) < RECENT:
            times.append(seconds)
    return {e: statistics.median(times) for e, times in found.items() if len(times) >= ENOUGH}
