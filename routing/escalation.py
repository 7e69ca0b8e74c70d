"""The config about customers left waiting: how soon a first reply is due before the
conversation moves on (`escalation:` at the top, `first_reply_within` on a team), and
the days nobody works (`holidays:` for the company and for each employee)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")
_RANGE = ".."


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    found = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None or not any(found.groups()):
        raise ValueError(f"{value!r} is not a duration: give one such as 15m, 1h or 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    duration = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if not duration:
        raise ValueError(f"{value!r} is no time at all: give one such as 15m")
    return duration


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _days(value: object) -> tuple[date, ...]:
    """A date (YAML reads 2026-12-25 as one), or a range `2026-12-24..2026-12-31`."""
    if isinstance(value, date):
        return (value,)
    first, _, last = value.partition(_RANGE) if isinstance(value, str) else ("", "", "")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date: give one such as 2026-12-25, or a range such as "
            "2026-12-24..2026-12-31"
        ) from None
    if end < start:
        raise ValueError(f"{value!r} ends before it starts")
    return tuple(start + timedelta(days=n) for n in range((end - start).days + 1))


Days = Annotated[tuple[date, ...], BeforeValidator(_days)]


def holidays(listed: tuple[tuple[date, ...], ...]) -> frozenset[date]:
    """The dates a `holidays:` list names."""
    return frozenset(day for days in listed for day in days)


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A conversation without a reply from its person for this long (working time) goes
    # to the next available person of the team; unset: it never moves on its own.
    first_reply_within: Duration | None = None
    # At this share of it, the person gets a reminder in the thread.
    remind_at: float = Field(0.5, gt=0.0, lt=1.0)
