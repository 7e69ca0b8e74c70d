from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from routing import (
    EmployeeState,
    RoutingRequest,
    Target,
    considered,
    parse_config,
    route,
    route_to,
)
from tests.routing.samples import ENTITIES, INTENTS

CONFIG = parse_config(
    """\
company: {name: Acme, bot_name: Acme assistant}
teams:
  - {id: billing, name: Billing}
  - {id: orders, name: Orders}
  - {id: support, name: Support}
employees:
  - {id: priya, name: Priya, title: Billing, slack_user_id: U01, teams: [billing],
     languages: [en, hi], max_open: 2, hours: {timezone: Europe/London, mon-fri: "09:00-17:30"}}
  - {id: tomas, name: Tomas, title: Billing, slack_user_id: U02, teams: [billing],
     languages: [en, es], max_open: 2, hours: {timezone: Europe/Madrid, mon-fri: "08:00-16:00"}}
  - {id: amara, name: Amara, title: Orders, slack_user_id: U03, teams: [orders],
     hours: {timezone: Europe/London, mon-fri: "08:00-16:30", sat: "09:00-13:00"}}
  - {id: jonas, name: Jonas, title: Delivery, slack_user_id: U04, teams: [orders],
     languages: [en, de], hours: {timezone: Europe/Berlin, tue-sat: "10:00-18:00"}}
  - {id: sam, name: Sam, title: Care, slack_user_id: U05, teams: [support],
     hours: {timezone: America/New_York, mon-fri: "10:00-18:30"}}
  - {id: kofi, name: Kofi, title: Nights, slack_user_id: U06, teams: [support, orders],
     hours: {timezone: America/Los_Angeles, sun-thu: "22:00-06:00"}}
rules:
  - {name: vips, when: {customer_tag: vip}, to: {employee: sam}}
  - {name: web billing, when: {intent: billing, channel: web}, to: {team: billing}}
  - {name: telegram billing, when: {intent: billing, channel: telegram}, to: {employee: tomas}}
  - {name: refunds with an order, when: {intent: refund, entities: [order_id]}, to: {team: billing}}
  - {name: german orders, when: {intent: order_status, language: de}, to: {employee: jonas}}
  - {name: orders, when: {intent: order_status}, to: {team: orders}}
fallback: {team: support}
""",
    "test.yml",
    intents=INTENTS,
    entities=ENTITIES,
)

# Monday 23 Nov 2026, 10:00 UTC: Priya, Tomas, Amara at work; Kofi on his Sunday night
# shift (02:00 in Los Angeles); Jonas (Tue-Sat) and Sam (10:00 New York) are not.
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SATURDAY_NIGHT = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)


def at(hour: int) -> datetime:
    return MONDAY.replace(hour=hour)


@dataclass
class Case:
    name: str
    request: RoutingRequest
    employee: str
    rule: str | None
    roster: dict[str, EmployeeState] = field(default_factory=dict)
    now: datetime = MONDAY
    availability: str = "available"
    available_at: datetime | None = None
    standing_in_for: str | None = None
    reason: str = ""


def web(intent: str | None, **kwargs: object) -> RoutingRequest:
    return RoutingRequest(channel="web", intent=intent, **kwargs)  # type: ignore[arg-type]


CASES = [
    Case(
        "tie goes to the first listed",
        web("billing"),
        "priya",
        "web billing",
        reason="listed first in the config",
    ),
    Case(
        "fewest open wins",
        web("billing"),
        "tomas",
        "web billing",
        roster={"priya": EmployeeState(open_conversations=1)},
        reason="fewest open conversations in Billing (0)",
    ),
    Case(
        "tie goes to who waited longest",
        web("billing"),
        "tomas",
        "web billing",
        roster={
            "priya": EmployeeState(1, last_assigned_at=at(9)),
            "tomas": EmployeeState(1, last_assigned_at=at(8)),
        },
        reason="tied with Priya, but has waited longest",
    ),
    Case(
        "never assigned counts as waiting longest",
        web("billing"),
        "tomas",
        "web billing",
        roster={"priya": EmployeeState(0, last_assigned_at=at(9))},
    ),
    Case(
        "channel decides the rule",
        RoutingRequest(channel="telegram", intent="billing"),
        "tomas",
        "telegram billing",
        reason="Tomas is available.",
    ),
    Case(
        "an entity the rule needs is missing", web("refund"), "kofi", None, reason="No rule matched"
    ),
    Case(
        "the entity is present",
        web("refund", entities=frozenset({"order_id"})),
        "priya",
        "refunds with an order",
        reason="the message has order_id",
    ),
    Case(
        "customer tag beats intent",
        web("billing", customer_tags=frozenset({"vip", "new"})),
        "sam",
        "vips",
        availability="off_shift",
        available_at=at(15),
        reason="outside working hours until Mon 23 Nov 10:00 (America/New_York)",
    ),
    Case(
        "language picks the rule",
        web("order_status", language="de"),
        "jonas",
        "german orders",
        availability="off_shift",
        available_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    ),
    Case(
        "language narrows the team",
        web("billing", language="es"),
        "tomas",
        "web billing",
        roster={"tomas": EmployeeState(1)},
        reason="who speak es: Tomas",
    ),
    Case(
        "nobody speaks it: everyone",
        web("order_status", language="fr"),
        "amara",
        "orders",
        reason="Nobody in Orders lists language fr",
    ),
    Case(
        "sticky: the previous person, though busier",
        web("order_status", previous_employee="kofi"),
        "kofi",
        "orders",
        roster={"kofi": EmployeeState(3)},
        reason="Kofi helped this customer before and is available",
    ),
    Case(
        "sticky but off shift: a stand-in",
        web("order_status", previous_employee="jonas"),
        "amara",
        "orders",
        standing_in_for="jonas",
        reason="usual person is unavailable: Jonas is outside working hours until Tue 24 Nov 10:00",
    ),
    Case(
        "sticky only within the rule's team",
        web("billing", previous_employee="amara"),
        "priya",
        "web billing",
        reason="Amara helped this customer before but is not in Billing",
    ),
    Case(
        "no rule: back to the previous person anywhere",
        web("greet", previous_employee="priya"),
        "priya",
        None,
    ),
    Case(
        "no rule, previous person away: fallback team",
        web("greet", previous_employee="priya"),
        "kofi",
        None,
        roster={"priya": EmployeeState(away=True)},
        standing_in_for="priya",
        reason="Priya is away",
    ),
    Case(
        "a previous person no longer in the config",
        web("billing", previous_employee="gone"),
        "priya",
        "web billing",
    ),
    Case(
        "away is unavailable",
        web("billing"),
        "tomas",
        "web billing",
        roster={"priya": EmployeeState(away=True)},
    ),
    Case(
        "at max_open is unavailable",
        web("billing"),
        "tomas",
        "web billing",
        roster={"priya": EmployeeState(2)},
    ),
    Case(
        "nobody at work: who starts first",
        web("billing"),
        "tomas",
        "web billing",
        now=SATURDAY_NIGHT,
        availability="off_shift",
        available_at=datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        reason="Tomas will be free first, at Mon 30 Nov 08:00 (Europe/Madrid)",
    ),
    Case(
        "nobody at work, usual person starts later: still the first free",
        web("billing", previous_employee="priya"),
        "tomas",
        "web billing",
        now=SATURDAY_NIGHT,
        availability="off_shift",
        available_at=datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        standing_in_for="priya",
    ),
    Case(
        "nobody at work, usual person first free: no stand-in",
        web("billing", previous_employee="tomas"),
        "tomas",
        "web billing",
        now=SATURDAY_NIGHT,
        availability="off_shift",
        available_at=datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
    ),
    Case(
        "everyone at their limit: fewest open",
        web("billing"),
        "tomas",
        "web billing",
        roster={"priya": EmployeeState(3), "tomas": EmployeeState(2)},
        availability="at_capacity",
        reason="Everyone is at their limit; Tomas has the fewest",
    ),
    Case(
        "the away are passed over while others have a time",
        web("billing"),
        "priya",
        "web billing",
        now=SATURDAY_NIGHT,
        roster={"tomas": EmployeeState(away=True)},
        availability="off_shift",
        available_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        reason="Tomas is away",
    ),
    Case(
        "all away: the first to start, still away",
        web("billing"),
        "priya",
        "web billing",
        roster={"priya": EmployeeState(away=True), "tomas": EmployeeState(away=True)},
        availability="away",
    ),
    Case(
        "a named person who is away",
        RoutingRequest(channel="telegram", intent="billing"),
        "tomas",
        "telegram billing",
        roster={"tomas": EmployeeState(away=True)},
        availability="away",
        reason="Tomas is away",
    ),
    Case(
        "no intent at all: fallback",
        web(None),
        "kofi",
        None,
        reason="fallback applies (team support)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_route(case: Case) -> None:
    decision = route(case.request, case.roster, CONFIG, case.now)
    assert decision.employee.id == case.employee, decision.reasons
    assert (decision.rule.name if decision.rule else None) == case.rule
    assert decision.availability == case.availability, decision.reasons
    assert decision.available == (case.availability == "available")
    assert decision.available_at == case.available_at
    assert (
        decision.standing_in_for.id if decision.standing_in_for else None
    ) == case.standing_in_for
    assert any(case.reason in reason for reason in decision.reasons), decision.reasons


def test_reasons_start_with_the_rule_and_end_with_the_person() -> None:
    decision = route(web("billing", previous_employee="jonas"), {}, CONFIG, MONDAY)
    assert (
        decision.reasons[0]
        == "Rule 'web billing' matched: intent billing is one of billing; the customer writes on web."
    )
    assert decision.reasons[-1].startswith("Priya is available")
    assert decision.team is not None
    assert decision.team.id == "billing"


def test_route_is_pure() -> None:
    roster = {"priya": EmployeeState(1)}
    first = route(web("billing"), roster, CONFIG, MONDAY)
    assert route(web("billing"), roster, CONFIG, MONDAY) == first
    assert roster == {"priya": EmployeeState(1)}


def test_a_transfer_to_ones_own_team_picks_someone_else() -> None:
    decision = route_to(
        Target(team="billing"), web("billing"), {"tomas": EmployeeState(3)}, CONFIG, MONDAY,
        why="Priya transferred it to Billing.", exclude=frozenset({"priya"}),
    )  # fmt: skip
    assert decision.employee.id == "tomas"
    assert decision.reasons[0] == "Priya transferred it to Billing."


def test_excluding_everyone_still_finds_someone() -> None:
    decision = route_to(
        Target(team="billing"), web("billing"), {}, CONFIG, MONDAY,
        why="x", exclude=frozenset({"priya", "tomas"}),
    )  # fmt: skip
    assert decision.employee.id == "priya"


def test_the_reasons_name_who_was_passed_over_and_why() -> None:
    roster = {"priya": EmployeeState(away=True)}
    decision = route(web("billing"), roster, CONFIG, MONDAY)
    assert decision.employee.id == "tomas"
    assert "Passed over in Billing: Priya is away." in decision.reasons
    assert decision.reasons[-1].startswith("Tomas is available")


def test_someone_the_desk_shows_absent_is_away_with_the_desks_reason() -> None:
    roster = {"priya": EmployeeState(absent="away in Slack")}
    decision = route(web("billing"), roster, CONFIG, MONDAY)
    assert decision.employee.id == "tomas"
    assert "Passed over in Billing: Priya is away in Slack." in decision.reasons
    both = {"priya": EmployeeState(away=True, absent="away in Slack")}
    assert (
        "Passed over in Billing: Priya is away."
        in route(web("billing"), both, CONFIG, MONDAY).reasons
    )
    everyone = {e: EmployeeState(absent="away in Slack") for e in ("priya", "tomas")}
    decision = route(web("billing"), everyone, CONFIG, MONDAY)
    assert (decision.availability, decision.employee.id) == ("away", "priya")
    assert "Priya is away in Slack; Tomas is away in Slack" in decision.reasons[-2]


@pytest.mark.parametrize(
    ("request_", "targets", "ids"),
    [
        (web("billing"), (), {"priya", "tomas"}),
        (web("billing", previous_employee="sam"), (), {"priya", "tomas", "sam"}),
        (web("greet"), (), {"sam", "kofi"}),  # the fallback team
        (web("billing"), (Target(employee="jonas"),), {"jonas"}),
    ],
)
def test_only_the_people_a_decision_may_look_at_are_considered(
    request_: RoutingRequest, targets: tuple[Target, ...], ids: set[str]
) -> None:
    assert considered(request_, CONFIG, *targets) == ids
    roster = {i: EmployeeState() for i in ids}  # nobody else's state is needed
    decision = (
        route_to(targets[0], request_, roster, CONFIG, MONDAY, why="x")
        if targets
        else (route(request_, roster, CONFIG, MONDAY))
    )
    assert decision.employee.id in ids
