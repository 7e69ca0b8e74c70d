"""config.yml's `escalation:`, teams' `first_reply_within` and `holidays:` (the
company's and each employee's): read, merged into working hours, and refused with the
file, line and key when wrong."""

from datetime import UTC, date, datetime, timedelta

import pytest

from routing import ConfigError, RoutingConfig, parse_config
from tests.routing.samples import ENTITIES, INTENTS, SMALL_CONFIG

WITH_ESCALATION = (
    SMALL_CONFIG.replace(
        "{id: billing, name: Billing}", "{id: billing, name: Billing, first_reply_within: 1h30m}"
    )
    .replace(
        '    hours: {timezone: Europe/London, mon-fri: "09:00-17:30"}\n',
        '    hours: {timezone: Europe/London, mon-fri: "09:00-17:30"}\n'
        "    holidays: [2026-11-24, 2026-12-28..2026-12-31]\n",
    )
    .replace(
        "fallback: {team: support}\n",
        "fallback: {team: support}\n"
        "escalation: {first_reply_within: 15m, remind_at: 0.6}\n"
        "holidays: [2026-12-25]\n",
    )
)


def parse(text: str) -> RoutingConfig:
    return parse_config(text, "acme.yml", intents=INTENTS, entities=ENTITIES)


def test_first_reply_within_is_the_teams_or_the_default() -> None:
    config = parse(WITH_ESCALATION)
    assert config.escalation.remind_at == 0.6
    assert config.first_reply_within("billing") == timedelta(hours=1, minutes=30)
    assert config.first_reply_within("support") == timedelta(minutes=15)
    assert config.first_reply_within(None) == timedelta(minutes=15)


def test_without_escalation_nothing_is_due() -> None:
    config = parse(SMALL_CONFIG)
    assert config.first_reply_within("billing") is None
    assert config.escalation.remind_at == 0.5


def test_holidays_are_time_off_in_the_working_hours() -> None:
    config = parse(WITH_ESCALATION)
    priya, sam = config.employee("priya"), config.employee("sam")
    assert priya.hours.holidays == {
        date(2026, 11, 24), date(2026, 12, 25), date(2026, 12, 28), date(2026, 12, 29),
        date(2026, 12, 30), date(2026, 12, 31),
    }  # fmt: skip
    assert sam.hours.holidays == {date(2026, 12, 25)}
    tuesday_noon = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert not priya.hours.is_open(tuesday_noon)
    assert priya.hours.next_opening(tuesday_noon) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert config.members("billing")[0].hours.holidays == priya.hours.holidays


# (replace this, with that) -> (line, key, message)
BROKEN = [
    (
        ("first_reply_within: 15m", "first_reply_within: soon"),
        26,
        "escalation.first_reply_within",
        "'soon' is not a duration: give one such as 15m, 1h or 1h30m",
    ),
    (
        ("first_reply_within: 15m", "first_reply_within: 0m"),
        26,
        "escalation.first_reply_within",
        "no time at all",
    ),
    (
        ("first_reply_within: 1h30m", "first_reply_within: 90"),
        6,
        "teams[0].first_reply_within",
        "90 is not a duration",
    ),
    (
        ("remind_at: 0.6", "remind_at: 1.5"),
        26,
        "escalation.remind_at",
        "less than 1",
    ),
    (
        ("remind_at: 0.6", "remind_in: 0.6"),
        26,
        "escalation.remind_in",
        "did you mean 'remind_at'",
    ),
    (
        ("holidays: [2026-12-25]", "holidays: [2026-12-25, christmas]"),
        27,
        "holidays[1]",
        "'christmas' is not a date",
    ),
    (
        ("2026-12-28..2026-12-31", "2026-12-31..2026-12-28"),
        15,
        "employees[0].holidays[1]",
        "ends before it starts",
    ),
    (
        ("2026-11-24,", "2026-13-24,"),
        15,
        "employees[0].holidays[0]",
        "'2026-13-24' is not a date",
    ),
]


@pytest.mark.parametrize(("change", "line", "key", "message"), BROKEN)
def test_errors_name_file_line_and_key(
    change: tuple[str, str], line: int, key: str, message: str
) -> None:
    old, new = change
    assert old in WITH_ESCALATION
    with pytest.raises(ConfigError) as caught:
        parse(WITH_ESCALATION.replace(old, new, 1))
    lines = caught.value.lines()
    expected = f"acme.yml:{line}: {key}: "
    assert any(entry.startswith(expected) and message in entry for entry in lines), lines
