from pathlib import Path

import pytest

from routing import ConfigError, load_config, parse_config
from routing.hours import WorkingHours
from tests.routing.samples import ENTITIES, INTENTS, SMALL_CONFIG

ROOT = Path(__file__).parent.parent.parent


def parse(text: str) -> None:
    parse_config(text, "acme.yml", intents=INTENTS, entities=ENTITIES)


def test_small_config_loads() -> None:
    config = parse_config(SMALL_CONFIG, "acme.yml", intents=INTENTS, entities=ENTITIES)
    assert [t.id for t in config.teams] == ["billing", "support"]
    assert [e.id for e in config.members("billing")] == ["priya", "sam"]
    assert config.employee("sam").languages == ("en",)
    assert config.employee("sam").max_open == 5
    assert isinstance(config.employee("priya").hours, WorkingHours)
    assert config.rules[1].when.customer_tag == ("vip",)  # a single value becomes a tuple
    assert config.triage.collect == {"order_status": ("order_id",)}


def test_the_shipped_example_is_valid() -> None:
    intents = {
        "greet", "goodbye", "human_handoff", "order_status", "refund", "billing",
        "cancel_subscription", "technical_support", "account_access", "sales",
        "complaint", "out_of_scope",
    }  # fmt: skip
    config = load_config(ROOT / "config.yml", intents=intents, entities=ENTITIES)
    assert 3 <= len(config.teams) <= 4
    assert 8 <= len(config.employees) <= 12
    for employee in config.employees:
        assert employee.name
        assert employee.title
        assert employee.photo_url
        assert employee.slack_user_id


# (replace this, with that) -> (line, key, message)
BROKEN = [
    (
        ("bot_name: Acme assistant", "bot_nam: Acme assistant"),
        1,
        "company.bot_nam",
        "did you mean 'bot_name'",
    ),
    (
        ("bot_name: Acme assistant", "bot_nam: Acme assistant"),
        1,
        "company.bot_name",
        "required key is missing",
    ),
    (
        ("  min_confidence: 0.6", "  min_confidence: 1.6"),
        3,
        "triage.min_confidence",
        "less than or equal to 1",
    ),
    (
        ("teams: [billing]\n    hours", "teams: [billing]\n    colour: blue\n    hours"),
        14,
        "employees[0].colour",
        "unknown key",
    ),
    (("- id: sam", "- id: priya"), 15, "employees[1].id", "duplicate id 'priya'"),
    (
        ("{id: support, name: Support,", "{id: billing, name: Support,"),
        7,
        "teams[1].id",
        "duplicate id 'billing'",
    ),
    (
        ("to: {team: billing}", "to: {team: biling}"),
        22,
        "rules[0].to.team",
        "unknown team 'biling'; did you mean 'billing'?",
    ),
    (
        ("to: {employee: sam}", "to: {employee: bob}"),
        23,
        "rules[1].to.employee",
        "unknown employee 'bob'",
    ),
    (
        ("intent: [refund, billing]", "intent: [refund, billling]"),
        22,
        "rules[0].when.intent[1]",
        "unknown intent 'billling'",
    ),
    (
        ("collect: {order_status: [order_id]}", "collect: {order_stat: [order_id]}"),
        4,
        "triage.collect.order_stat",
        "unknown intent",
    ),
    (
        ("collect: {order_status: [order_id]}", "collect: {order_status: [order_nr]}"),
        4,
        "triage.collect.order_status[0]",
        "unknown entity 'order_nr'",
    ),
    (
        ("timezone: Europe/London", "timezone: Europe/Londn"),
        14,
        "employees[0].hours.timezone",
        "unknown timezone 'Europe/Londn'",
    ),
    (
        ('mon-fri: "09:00-17:30"', 'mon-fri: "9 to 5"'),
        14,
        "employees[0].hours.mon-fri",
        "not a time range",
    ),
    (
        ('mon-fri: "09:00-17:30"', 'mnday: "09:00-17:30"'),
        14,
        "employees[0].hours.mnday",
        "not a day or day range",
    ),
    (('mon-fri: "09:00-17:30"', "mon-fri: 9"), 14, "employees[0].hours.mon-fri", "quoted string"),
    (
        ("hours: {timezone: Europe/London, ", "hours: {"),
        14,
        "employees[0].hours.timezone",
        "missing",
    ),
    (
        ("teams: [billing]\n", "teams: [bilings]\n"),
        13,
        "employees[0].teams[0]",
        "unknown team 'bilings'",
    ),
    (
        ("slack_user_id: U0PRIYA", "slack_user_id: priya"),
        12,
        "employees[0].slack_user_id",
        "'priya' is not valid here",
    ),
    (
        ("fallback: {team: support}", "fallback: {team: support, employee: sam}"),
        24,
        "fallback",
        "exactly one of team or employee",
    ),
    (
        (
            "  - {id: support, name: Support, slack_channel: C0SUPPORT}\n",
            "  - {id: support, name: Support, slack_channel: C0SUPPORT}\n  - {id: empty, name: Nobody}\n",
        ),
        8,
        "teams[2].id",
        "team 'empty' has no employees",
    ),
    (
        ("  min_confidence: 0.6\n", "  min_confidence: 0.6\n  min_confidence: 0.7\n"),
        4,
        "triage.min_confidence",
        "duplicate key (first at line 3)",
    ),
    (("channel: C0SUPPORT}", "channel: C0SUPPORT"), None, "", "not valid YAML"),
]


@pytest.mark.parametrize(("change", "line", "key", "message"), BROKEN)
def test_errors_name_file_line_and_key(
    change: tuple[str, str], line: int | None, key: str, message: str
) -> None:
    old, new = change
    assert old in SMALL_CONFIG
    with pytest.raises(ConfigError) as caught:
        parse(SMALL_CONFIG.replace(old, new, 1))
    expected = (f"acme.yml:{line}: " if line else "acme.yml") + (f"{key}: " if key else "")
    lines = caught.value.lines()
    assert any(entry.startswith(expected) and message in entry for entry in lines), lines


def test_every_problem_is_reported_at_once() -> None:
    broken = SMALL_CONFIG.replace("to: {team: billing}", "to: {team: x}").replace(
        "to: {employee: sam}", "to: {employee: y}"
    )
    with pytest.raises(ConfigError) as caught:
        parse(broken)
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "company: Acme\n"])
def test_wrong_shapes_are_errors_not_crashes(text: str) -> None:
    with pytest.raises(ConfigError):
        parse(text)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yml", intents=INTENTS, entities=ENTITIES)
