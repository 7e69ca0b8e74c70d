from datetime import UTC, date, datetime, timedelta

import pytest

from routing.hours import HoursError, WorkingHours, parse_days, parse_ranges

LONDON_OFFICE = WorkingHours.parse("Europe/London", {"mon-fri": "09:00-17:30"})
LA_NIGHTS = WorkingHours.parse("America/Los_Angeles", {"sun-thu": "22:00-06:00"})
NY_SATURDAY_NIGHT = WorkingHours.parse("America/New_York", {"sat": "22:00-06:00"})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "days"),
    [
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("sat", [5]),
        ("fri-mon", [4, 5, 6, 0]),
        ("sat,sun", [5, 6]),
        ("Mon", [0]),
        ("mon-wed, fri", [0, 1, 2, 4]),
    ],
)
def test_day_keys(key: str, days: list[int]) -> None:
    assert parse_days(key) == days


@pytest.mark.parametrize("key", ["mnday", "mon-frii", "weekdays", ""])
def test_bad_day_keys_name_the_key(key: str) -> None:
    with pytest.raises(HoursError) as caught:
        parse_days(key)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("value", "ranges"),
    [
        ("09:00-17:30", [(540, 1050)]),
        ("9:00 - 17:30", [(540, 1050)]),
        ("22:00-06:00", [(1320, 1800)]),
        ("09:00-12:00, 13:00-17:00", [(540, 720), (780, 1020)]),
        ("00:00-24:00", [(0, 1440)]),
    ],
)
def test_time_ranges(value: str, ranges: list[tuple[int, int]]) -> None:
    assert parse_ranges("mon", value) == ranges


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("9-5", "is not a time range"),
        ("25:00-26:00", "impossible time"),
        ("09:60-10:00", "impossible time"),
        ("24:30-10:00", "impossible time"),
        ("09:00-09:00", "starts and ends at the same time"),
    ],
)
def test_bad_time_ranges(value: str, complaint: str) -> None:
    with pytest.raises(HoursError, match=complaint) as caught:
        parse_ranges("tue", value)
    assert caught.value.key == "tue"


@pytest.mark.parametrize(
    ("timezone", "days", "key", "complaint"),
    [
        ("Europe/Londn", {"mon": "09:00-17:00"}, "timezone", "unknown timezone"),
        (
            "Europe/London",
            {"mon-fri": "09:00-17:00", "fri": "10:00-12:00"},
            "fri",
            "already covered",
        ),
        ("Europe/London", {}, None, "no working days"),
    ],
)
def test_bad_schedules(
    timezone: str, days: dict[str, str], key: str | None, complaint: str
) -> None:
    with pytest.raises(HoursError, match=complaint) as caught:
        WorkingHours.parse(timezone, days)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("hours", "now", "is_open"),
    [
        # London, winter (GMT = UTC)
        (LONDON_OFFICE, utc(2026, 11, 23, 8, 59), False),
        (LONDON_OFFICE, utc(2026, 11, 23, 9, 0), True),
        (LONDON_OFFICE, utc(2026, 11, 23, 17, 29), True),
        (LONDON_OFFICE, utc(2026, 11, 23, 17, 30), False),
        (LONDON_OFFICE, utc(2026, 11, 28, 12, 0), False),  # Saturday
        # London, summer (BST = UTC+1)
        (LONDON_OFFICE, utc(2026, 6, 1, 7, 59), False),
        (LONDON_OFFICE, utc(2026, 6, 1, 8, 0), True),
        (LONDON_OFFICE, utc(2026, 6, 1, 16, 29), True),
        (LONDON_OFFICE, utc(2026, 6, 1, 16, 30), False),
        # the week the clocks go forward (Sun 29 Mar 2026)
        (LONDON_OFFICE, utc(2026, 3, 27, 9, 0), True),
        (LONDON_OFFICE, utc(2026, 3, 30, 7, 59), False),
        (LONDON_OFFICE, utc(2026, 3, 30, 8, 0), True),
        # a night shift across midnight: Sunday 22:00 to Monday 06:00 Los Angeles
        (LA_NIGHTS, utc(2026, 11, 23, 5, 59), False),  # Sun 21:59 PST
        (LA_NIGHTS, utc(2026, 11, 23, 6, 0), True),  # Sun 22:00 PST
        (LA_NIGHTS, utc(2026, 11, 23, 11, 0), True),  # Mon 03:00, from Sunday's shift
        (LA_NIGHTS, utc(2026, 11, 23, 14, 0), False),  # Mon 06:00
        (LA_NIGHTS, utc(2026, 11, 27, 11, 0), True),  # Fri 03:00, Thursday's shift
        (LA_NIGHTS, utc(2026, 11, 28, 11, 0), False),  # Sat 03:00, no Friday shift
        # a night shift during which New York's clocks change
        (NY_SATURDAY_NIGHT, utc(2026, 3, 8, 3, 0), True),  # Sat 22:00 EST
        (NY_SATURDAY_NIGHT, utc(2026, 3, 8, 9, 59), True),  # Sun 05:59 EDT
        (NY_SATURDAY_NIGHT, utc(2026, 3, 8, 10, 0), False),  # Sun 06:00 EDT
        (NY_SATURDAY_NIGHT, utc(2026, 11, 1, 2, 0), True),  # Sat 22:00 EDT
        (NY_SATURDAY_NIGHT, utc(2026, 11, 1, 10, 59), True),  # Sun 05:59 EST
        (NY_SATURDAY_NIGHT, utc(2026, 11, 1, 11, 0), False),  # Sun 06:00 EST
    ],
)
def test_is_open(hours: WorkingHours, now: datetime, is_open: bool) -> None:
    assert hours.is_open(now) is is_open


@pytest.mark.parametrize(
    ("hours", "now", "opening"),
    [
        (LONDON_OFFICE, utc(2026, 11, 23, 10, 0), utc(2026, 11, 23, 10, 0)),  # at work: now
        (LONDON_OFFICE, utc(2026, 11, 27, 17, 30), utc(2026, 11, 30, 9, 0)),  # Friday evening
        (LONDON_OFFICE, utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 8, 0)),  # over the DST change
        (LONDON_OFFICE, utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 9, 0)),  # and back
        (LA_NIGHTS, utc(2026, 11, 28, 11, 0), utc(2026, 11, 30, 6, 0)),  # Sat -> Sun 22:00 PST
        (NY_SATURDAY_NIGHT, utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 3, 0)),
    ],
)
def test_next_opening(hours: WorkingHours, now: datetime, opening: datetime) -> None:
    assert hours.next_opening(now) == opening


@pytest.mark.parametrize("hours", [LONDON_OFFICE, LA_NIGHTS, NY_SATURDAY_NIGHT])
def test_open_exactly_when_the_next_opening_is_now(hours: WorkingHours) -> None:
    """The fast wall-clock check and the interval walk agree, every 20 minutes of a year."""
    now = utc(2026, 1, 1)
    while now.year == 2026:
        assert hours.is_open(now) == (hours.next_opening(now) == now), now
        now += timedelta(minutes=20)


@pytest.mark.parametrize(
    ("timezone", "days", "text"),
    [
        ("Europe/London", {"mon-fri": "09:00-17:30"}, "Mon-Fri 09:00-17:30 (Europe/London)"),
        (
            "Europe/London",
            {"mon-fri": "09:00-17:30", "sat": "10:00-14:00"},
            "Mon-Fri 09:00-17:30; Sat 10:00-14:00 (Europe/London)",
        ),
        (
            "America/Los_Angeles",
            {"sun-thu": "22:00-06:00"},
            "Sun-Thu 22:00-06:00 (America/Los_Angeles)",
        ),
        (
            "UTC",
            {"tue": "09:00-12:00, 13:00-17:00", "thu": "00:00-24:00"},
            "Tue 09:00-12:00 and 13:00-17:00; Thu 00:00-24:00 (UTC)",
        ),
    ],
)
def test_describe(timezone: str, days: dict[str, str], text: str) -> None:
    assert WorkingHours.parse(timezone, days).describe() == text


# Holidays: Tue 24 Nov off in London; in Los Angeles, Monday 23 Nov off, which cancels
# the night shift that starts that Monday evening (not the one that ends that morning).
LONDON_TUESDAY_OFF = LONDON_OFFICE.off_on({date(2026, 11, 24)})
LA_MONDAY_OFF = LA_NIGHTS.off_on({date(2026, 11, 23)})
TWO_WEEKS_OFF = LONDON_OFFICE.off_on({date(2026, 11, 23) + timedelta(days=n) for n in range(14)})
OVERLAPPING = WorkingHours.parse("UTC", {"mon": "20:00-04:00", "tue": "02:00-06:00"})


@pytest.mark.parametrize(
    ("hours", "now", "is_open"),
    [
        (LONDON_TUESDAY_OFF, utc(2026, 11, 23, 12, 0), True),
        (LONDON_TUESDAY_OFF, utc(2026, 11, 24, 12, 0), False),
        (LONDON_TUESDAY_OFF, utc(2026, 11, 25, 12, 0), True),
        (LA_MONDAY_OFF, utc(2026, 11, 23, 11, 0), True),  # Mon 03:00, Sunday's shift
        (LA_MONDAY_OFF, utc(2026, 11, 24, 7, 0), False),  # Mon 23:00, Monday's shift
        (LA_MONDAY_OFF, utc(2026, 11, 24, 11, 0), False),  # Tue 03:00, Monday's shift
        (LA_MONDAY_OFF, utc(2026, 11, 25, 7, 0), True),  # Tue 23:00
    ],
)
def test_a_holiday_is_not_working_time(hours: WorkingHours, now: datetime, is_open: bool) -> None:
    assert hours.is_open(now) is is_open
    assert (hours.next_opening(now) == now) is is_open


@pytest.mark.parametrize(
    ("hours", "now", "opening"),
    [
        (LONDON_TUESDAY_OFF, utc(2026, 11, 23, 18, 0), utc(2026, 11, 25, 9, 0)),
        (LA_MONDAY_OFF, utc(2026, 11, 23, 15, 0), utc(2026, 11, 25, 6, 0)),
        (TWO_WEEKS_OFF, utc(2026, 11, 23, 10, 0), utc(2026, 12, 7, 9, 0)),  # past 8 days
    ],
)
def test_the_next_opening_skips_holidays(
    hours: WorkingHours, now: datetime, opening: datetime
) -> None:
    assert hours.next_opening(now) == opening


MINUTES = 60.0
HOURS = 60 * MINUTES

# (hours, start, end, working seconds between)
WORKING_TIME = [
    (LONDON_OFFICE, utc(2026, 11, 23, 10, 0), utc(2026, 11, 23, 10, 15), 15 * MINUTES),
    (LONDON_OFFICE, utc(2026, 11, 23, 10, 0), utc(2026, 11, 23, 10, 0), 0.0),
    (LONDON_OFFICE, utc(2026, 11, 23, 7, 0), utc(2026, 11, 23, 9, 10), 10 * MINUTES),
    (LONDON_OFFICE, utc(2026, 11, 23, 17, 25), utc(2026, 11, 24, 9, 10), 15 * MINUTES),
    (LONDON_OFFICE, utc(2026, 11, 23, 20, 0), utc(2026, 11, 24, 3, 0), 0.0),  # a night
    (LONDON_OFFICE, utc(2026, 11, 27, 17, 0), utc(2026, 11, 30, 9, 30), 60 * MINUTES),  # weekend
    (LONDON_OFFICE, utc(2026, 11, 23, 0, 0), utc(2026, 11, 30, 0, 0), 5 * 8.5 * HOURS),  # a week
    (LONDON_OFFICE, utc(2026, 3, 27, 17, 0), utc(2026, 3, 30, 8, 30), 60 * MINUTES),  # DST
    (LONDON_TUESDAY_OFF, utc(2026, 11, 23, 17, 25), utc(2026, 11, 25, 9, 10), 15 * MINUTES),
    (LA_NIGHTS, utc(2026, 11, 23, 5, 0), utc(2026, 11, 23, 15, 0), 8 * HOURS),  # Sun night
    (LA_MONDAY_OFF, utc(2026, 11, 23, 5, 0), utc(2026, 11, 25, 7, 0), 9 * HOURS),
    (OVERLAPPING, utc(2026, 11, 23, 0, 0), utc(2026, 11, 25, 0, 0), 10 * HOURS),  # counted once
]


@pytest.mark.parametrize(("hours", "start", "end", "seconds"), WORKING_TIME)
def test_working_seconds(
    hours: WorkingHours, start: datetime, end: datetime, seconds: float
) -> None:
    assert hours.working_seconds(start, end) == seconds


@pytest.mark.parametrize(("hours", "start", "end", "seconds"), WORKING_TIME)
def test_after_working_is_the_inverse(
    hours: WorkingHours, start: datetime, end: datetime, seconds: float
) -> None:
    """The instant `seconds` of work after `start` is `end`, or the last moment of work
    before it (`end` may lie in time off)."""
    due = hours.after_working(start, seconds)
    assert due <= end
    assert hours.working_seconds(start, due) == seconds
    assert hours.working_seconds(due, end) == 0.0


@pytest.mark.parametrize(
    ("hours", "start", "seconds", "due"),
    [
        (LONDON_OFFICE, utc(2026, 11, 23, 10, 0), 15 * MINUTES, utc(2026, 11, 23, 10, 15)),
        (LONDON_OFFICE, utc(2026, 11, 23, 17, 25), 15 * MINUTES, utc(2026, 11, 24, 9, 10)),
        (LONDON_OFFICE, utc(2026, 11, 23, 20, 0), 15 * MINUTES, utc(2026, 11, 24, 9, 15)),
        (LONDON_OFFICE, utc(2026, 11, 27, 17, 25), 15 * MINUTES, utc(2026, 11, 30, 9, 10)),
        (LONDON_TUESDAY_OFF, utc(2026, 11, 23, 17, 25), 15 * MINUTES, utc(2026, 11, 25, 9, 10)),
        (TWO_WEEKS_OFF, utc(2026, 11, 23, 10, 0), 15 * MINUTES, utc(2026, 12, 7, 9, 15)),
    ],
)
def test_after_working(hours: WorkingHours, start: datetime, seconds: float, due: datetime) -> None:
    assert hours.after_working(start, seconds) == due
