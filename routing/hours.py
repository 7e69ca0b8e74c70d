"""Weekly working hours in a timezone, less holidays: parsing `mon-fri: "09:00-17:30"`,
asking whether someone is at work at a given instant or when they next will be, and
counting working time between two instants."""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Far enough back to catch a shift that began yesterday and runs past midnight.
_LOOK_BEHIND_DAYS = 1
_DAY = 24 * 60
_DAYS_REMEMBERED = 1000  # local days whose shifts in UTC are kept, per schedule


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
    """When someone works. A holiday (a local date) cancels the shifts that start on it,
    so a night shift belongs to the evening it begins."""

    timezone: ZoneInfo
    shifts: tuple[Shift, ...]
    holidays: frozenset[date] = frozenset()
    # Each local day's shifts as UTC instants, worked out once: routing (and a replay of
    # thousands of conversations) asks about the same few days again and again.
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _spans: list[tuple[datetime, datetime, bool]] = field(
        default_factory=list, init=False, compare=False, repr=False
    )

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

    def off_on(self, holidays: Collection[date]) -> WorkingHours:
        """These hours with `holidays` off as well."""
        return replace(self, holidays=self.holidays | frozenset(holidays)) if holidays else self

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
        return self._span(now)[2]

    def next_opening(self, now: datetime) -> datetime:
        """The first instant at or after `now` when this person is at work."""
        _, until, at_work = self._span(now)
        return now if at_work else until

    def _span(self, now: datetime) -> tuple[datetime, datetime, bool]:
        """The stretch around `now` in which being at work does not change (a shift, or
        the gap before the next one) and whether it is a shift. The last one is kept:
        routing asks about nearly the same instant for everyone, again and again."""
        if self._spans and self._spans[0][0] <= now < self._spans[0][1]:
            return self._spans[0]
        reached = now  # where the last shift before `now` ended, if any did
        for opens, closes in self._intervals(now):
            if closes <= now:
                reached = closes
                continue
            span = (opens, closes, True) if opens <= now else (reached, opens, False)
            self._spans[:] = [span]
            return span
        raise AssertionError("a weekly schedule with shifts always opens again")

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """How much of the time from `start` to `end` falls inside working hours."""
        total = 0.0
        for opens, closes in self._intervals(start, until=end):
            if opens >= end:
                break
            total += max((min(closes, end) - max(opens, start)).total_seconds(), 0.0)
        return total

    def after_working(self, start: datetime, seconds: float) -> datetime:
        """The instant when `seconds` of working time have passed since `start`."""
        if seconds <= 0:
            return start
        left = timedelta(seconds=seconds)
        for opens, closes in self._intervals(start):
            opens = max(opens, start)
            if closes <= opens:
                continue
            if opens + left <= closes:
                return opens + left
            left -= closes - opens
        raise AssertionError("a weekly schedule with shifts always opens again")

    def _intervals(
        self, since: datetime, until: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in UTC, in order and not overlapping, from the local day
        before `since` on (up to `until`, or for ever: with finitely many holidays a
        weekly schedule always opens again, so callers that stop at the first fitting
        interval end)."""
        first = since.astimezone(self.timezone).date() - timedelta(days=_LOOK_BEHIND_DAYS)
        days: Iterator[date] = (first + timedelta(days=n) for n in itertools.count())
        if until is not None:
            last = until.astimezone(self.timezone).date()
            days = itertools.takewhile(lambda day: day <= last, days)
        reached: datetime | None = None  # where the last interval ended
        for day in days:
            for opens, closes in self._shifts_on(day):
                if reached is not None:
                    opens = max(opens, reached)  # shifts that overlap count once
                if closes > opens:
                    reached = closes
                    yield opens, closes

    def _shifts_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The shifts starting on local `day`, in UTC (none on a holiday)."""
        found = self._days.get(day)
        if found is None:
            found = () if day in self.holidays else tuple(
                (self._at(day, shift.start), self._at(day, shift.end))
                for shift in self.shifts
                if shift.weekday == day.weekday()
            )  # fmt: skip
            if len(self._days) >= _DAYS_REMEMBERED:
                self._days.clear()
            self._days[day] = found
        return found

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
