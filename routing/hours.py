"""Weekly working hours in a timezone: parsing `mon-fri: "09:00-17:30"` and asking
whether someone is at work at a given instant, or when they next will be."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Far enough back to catch a shift that began yesterday and runs past midnight,
# far enough ahead to find next week's first shift.
_LOOK_BEHIND_DAYS = 1
_LOOK_AHEAD_DAYS = 8
_DAY = 24 * 60


class HoursError(ValueError):
    """A problem with working hours; `key` is the offending key (a day key or
    "timezone"), or None when the whole mapping is at fault."""

    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, order=True)
class Shift:
    """One stretch of work starting on `weekday` (0 = Monday); minutes from that day's
    local midnight. `end` may pass 1440 for a shift that crosses midnight."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class WorkingHours:
    timezone: ZoneInfo
    shifts: tuple[Shift, ...]

    @classmethod
    def parse(cls, timezone: str, days: Mapping[str, str]) -> WorkingHours:
        """Raises HoursError naming the offending key."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            message = f"unknown timezone {timezone!r} (use an IANA name such as Europe/London)"
            raise HoursError("timezone", message) from exc
        shifts: list[Shift] = []
        seen: dict[int, str] = {}
        for key, value in days.items():
            for weekday in parse_days(key):
                if weekday in seen:
                    message = f"{DAYS[weekday]} is already covered by {seen[weekday]!r}"
                    raise HoursError(key, message)
                seen[weekday] = key
                shifts.extend(Shift(weekday, start, end) for start, end in parse_ranges(key, value))
        if not shifts:
            raise HoursError(None, 'no working days given (add e.g. mon-fri: "09:00-17:30")')
        return cls(zone, tuple(sorted(shifts)))

    def describe(self) -> str:
        """`Mon-Fri 09:00-17:30, Sat 10:00-14:00 (Europe/London)`."""
        by_day: dict[int, list[str]] = {}
        for shift in self.shifts:
            by_day.setdefault(shift.weekday, []).append(
                f"{_clock(shift.start)}-{_clock(shift.end)}"
            )
        runs: list[tuple[int, int, str]] = []  # first day, last day, hours
        for day in sorted(by_day):
            hours = " and ".join(by_day[day])
            if runs and runs[-1][1] == day - 1 and runs[-1][2] == hours:
                runs[-1] = (runs[-1][0], day, hours)
            else:
                runs.append((day, day, hours))
        if len(runs) > 1 and runs[-1][1] == 6 and runs[0][0] == 0 and runs[-1][2] == runs[0][2]:
            runs = [(runs[-1][0], runs[0][1], runs[0][2]), *runs[1:-1]]  # a week wrapping Sunday
        parts = [
            f"{_NAMES[first]}{'-' + _NAMES[last] if last != first else ''} {hours}"
            for first, last, hours in runs
        ]
        return f"{'; '.join(parts)} ({self.timezone.key})"

    def is_open(self, now: datetime) -> bool:
        # Compared on the local wall clock: the hot path of every routing decision.
        local = now.astimezone(self.timezone)
        minute = local.hour * 60 + local.minute
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        return any(
            (shift.weekday == today and shift.start <= minute < shift.end)
            or (shift.weekday == yesterday and minute + _DAY < shift.end)
            for shift in self.shifts
        )

    def next_opening(self, now: datetime) -> datetime:
        """The first instant at or after `now` when this person is at work."""
        for start, end in self._intervals(now):
            if start <= now < end:
                return now
            if start > now:
                return start
        raise AssertionError("a weekly schedule with shifts always opens within 8 days")

    def _intervals(self, now: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Shift intervals in UTC, in order, from yesterday (local) to a week ahead."""
        today = now.astimezone(self.timezone).date()
        for offset in range(-_LOOK_BEHIND_DAYS, _LOOK_AHEAD_DAYS + 1):
            day = today + timedelta(days=offset)
            for shift in self.shifts:
                if shift.weekday == day.weekday():
                    yield self._at(day, shift.start), self._at(day, shift.end)

    def _at(self, day: date, minutes: int) -> datetime:
        # Wall-clock arithmetic on an aware datetime, then conversion: 09:00 stays
        # 09:00 local on both sides of a DST change.
        midnight = datetime.combine(day, time(), tzinfo=self.timezone)
        return (midnight + timedelta(minutes=minutes)).astimezone(UTC)


def parse_days(key: str) -> list[int]:
    """`mon-fri`, `sat`, `fri-mon` (wraps), `sat,sun` -> weekday numbers."""
    weekdays: list[int] = []
    for part in key.lower().split(","):
        first, _, last = part.strip().partition("-")
        begin, finish = _day(first, key), _day(last or first, key)
        weekdays.extend((begin + i) % 7 for i in range((finish - begin) % 7 + 1))
    return weekdays


def parse_ranges(key: str, value: str) -> list[tuple[int, int]]:
    """`"09:00-12:00, 13:00-17:30"` -> minute pairs; `"22:00-06:00"` crosses midnight."""
    ranges = []
    for part in value.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise HoursError(key, f'{part.strip()!r} is not a time range like "09:00-17:30"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise HoursError(key, f"{part.strip()!r} has an impossible time")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end == start:
            raise HoursError(key, f"{part.strip()!r} starts and ends at the same time")
        ranges.append((start, end if end > start else end + _DAY))
    return ranges


def _clock(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}" if minutes != _DAY else "24:00"


_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day(name: str, key: str) -> int:
    try:
        return DAYS.index(name.strip())
    except ValueError:
        message = f"{key!r} is not a day or day range (use mon, tue, ... sun, or mon-fri)"
        raise HoursError(key, message) from None
