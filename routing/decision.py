"""Which named employee should answer a customer, and why: a pure function of the
request, the roster's state, the config and the current time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from routing.config import Condition, Employee, RoutingConfig, Rule, Target, Team

Availability = Literal["available", "away", "off_shift", "at_capacity"]
_NEVER = datetime.min.replace(tzinfo=UTC)
_LISTED = 5  # unavailable people named in a reason, at most


@dataclass(frozen=True)
class RoutingRequest:
    """What is known about a customer's message when it is routed."""

    channel: str  # a channel's name, as rules name it (`Channel`)
    intent: str | None = None
    entities: frozenset[str] = frozenset()
    language: str | None = None
    customer_tags: frozenset[str] = frozenset()
    previous_employee: str | None = None


@dataclass(frozen=True)
class EmployeeState:
    """An employee's live load; an employee missing from the roster has the defaults."""

    open_conversations: int = 0
    away: bool = False  # the away flag (set by an admin, or by the employee)
    last_assigned_at: datetime | None = None
    # Why the desk shows them as not there now, in words ("away in Slack"); None when it
    # shows them there, or cannot tell (which is not held against them).
    absent: str | None = None

    @property
    def away_now(self) -> bool:
        return self.away or self.absent is not None


RosterState = Mapping[str, EmployeeState]


@dataclass(frozen=True)
class Decision:
    employee: Employee
    rule: Rule | None  # None: no rule matched and the fallback applied
    team: Team | None  # the team chosen within, None when a person was named
    availability: Availability  # of `employee`, now
    available_at: datetime | None  # when an off-shift `employee` starts work
    standing_in_for: Employee | None  # the customer's usual person, if unavailable
    standing_in_because: Availability | None  # and why they are
    reasons: tuple[str, ...]

    @property
    def available(self) -> bool:
        return self.availability == "available"


def availability(employee: Employee, state: EmployeeState, now: datetime) -> Availability:
    """Whether someone can take a customer now: at work, under `max_open`, not away
    (by the flag, or as the desk shows them)."""
    if state.away_now:
        return "away"
    if not employee.hours.is_open(now):
        return "off_shift"
    if state.open_conversations >= employee.max_open:
        return "at_capacity"
    return "available"


def route(
    request: RoutingRequest, roster: RosterState, config: RoutingConfig, now: datetime
) -> Decision:
    """Rules in file order, first match wins; then the person within the target."""
    rule = _first_match(request, config)
    if rule is not None:
        why = f"Rule {rule.name!r} matched: {_why(rule.when, request)}."
        return route_to(rule.to, request, roster, config, now, why=why, rule=rule)
    why = f"No rule matched, so the fallback applies ({config.fallback.describe()})."
    # A returning customer goes back to their person when no rule claims the message.
    return route_to(config.fallback, request, roster, config, now, why=why, sticky_anywhere=True)


def considered(request: RoutingRequest, config: RoutingConfig, *targets: Target) -> set[str]:
    """Whose roster state `route` (or `route_to` a target given) may read: the caller
    need load no one else's."""
    if not targets:
        rule = _first_match(request, config)
        targets = (rule.to if rule else config.fallback,)
    ids = {request.previous_employee} if request.previous_employee else set()
    for target in targets:
        if target.employee is not None:
            ids.add(target.employee)
        else:
            ids |= {m.id for m in config.members(target.team or "")}
    return ids


def _first_match(request: RoutingRequest, config: RoutingConfig) -> Rule | None:
    return next((r for r in config.rules if matches(r.when, request)), None)


def route_to(
    target: Target,
    request: RoutingRequest,
    roster: RosterState,
    config: RoutingConfig,
    now: datetime,
    *,
    why: str,
    rule: Rule | None = None,
    sticky_anywhere: bool = False,
    exclude: frozenset[str] = frozenset(),
) -> Decision:
    """The person for a target (a rule's, the fallback, or a transfer's), with `why`
    as the first reason. `exclude` names people to pass over if anyone else can."""
    reasons = [why]
    choice = _Choice(roster, now, reasons)
    if target.employee is not None:
        employee = config.employee(target.employee)
        return choice.decide(employee, rule, None, None, choice.describe(employee))
    team = config.team(target.team or "")
    previous = (
        config.employee(request.previous_employee)
        if request.previous_employee is not None and config.has_employee(request.previous_employee)
        else None
    )
    standing_in_for = None
    if previous is not None:
        if sticky_anywhere or team.id in previous.teams:
            if choice.availability(previous) == "available":
                why = f"{previous.name} helped this customer before and is available"
                return choice.decide(previous, rule, team, None, why)
            standing_in_for = previous
            reasons.append(
                f"This customer's usual person is unavailable: {choice.describe(previous)}."
            )
        else:
            reasons.append(
                f"{previous.name} helped this customer before but is not in {team.name}."
            )
    candidates = [m for m in config.members(team.id) if m.id not in exclude]
    members = _speakers(candidates or config.members(team.id), team, request.language, reasons)
    return choice.within(members, rule, team, standing_in_for)


def matches(condition: Condition, request: RoutingRequest) -> bool:
    return (
        (not condition.intent or request.intent in condition.intent)
        and set(condition.entities) <= request.entities
        and (not condition.channel or request.channel in condition.channel)
        and (not condition.language or request.language in condition.language)
        and (
            not condition.customer_tag or bool(request.customer_tags & set(condition.customer_tag))
        )
    )


def _why(condition: Condition, request: RoutingRequest) -> str:
    parts = []
    if condition.intent:
        parts.append(f"intent {request.intent} is one of {', '.join(condition.intent)}")
    if condition.entities:
        parts.append(f"the message has {', '.join(condition.entities)}")
    if condition.channel:
        parts.append(f"the customer writes on {request.channel}")
    if condition.language:
        parts.append(f"the customer's language is {request.language}")
    if condition.customer_tag:
        tags = sorted(request.customer_tags & set(condition.customer_tag))
        parts.append(f"the customer is tagged {', '.join(tags)}")
    return "; ".join(parts) or "it matches every message"


def _speakers(
    members: Sequence[Employee], team: Team, language: str | None, reasons: list[str]
) -> Sequence[Employee]:
    if language is None:
        return members
    speakers = [m for m in members if language in m.languages]
    if not speakers:
        reasons.append(f"Nobody in {team.name} lists language {language}; considering everyone.")
        return members
    if len(speakers) < len(members):
        reasons.append(
            f"Considering those in {team.name} who speak {language}: {_names(speakers)}."
        )
    return speakers


@dataclass(frozen=True)
class _Choice:
    """The roster at one instant, and the reasons being written down."""

    roster: RosterState
    now: datetime
    reasons: list[str]
    known: dict[str, Availability] = field(default_factory=dict)  # asked more than once

    def state(self, employee: Employee) -> EmployeeState:
        return self.roster.get(employee.id, _DEFAULT_STATE)

    def availability(self, employee: Employee) -> Availability:
        found = self.known.get(employee.id)
        if found is None:
            found = self.known[employee.id] = availability(employee, self.state(employee), self.now)
        return found

    def available(self, employee: Employee) -> bool:
        return self.availability(employee) == "available"

    def describe(self, employee: Employee, *, briefly: bool = False) -> str:
        """Why someone is or is not available; `briefly` leaves out when a shift starts
        (finding it is the costly part, and a passed-over person's start is no reason)."""
        availability = self.availability(employee)
        if availability == "away":
            state = self.state(employee)
            return f"{employee.name} is {'away' if state.away else state.absent}"
        if availability == "off_shift" and briefly:
            return f"{employee.name} is outside working hours"
        if availability == "off_shift":
            start = employee.hours.next_opening(self.now)
            return f"{employee.name} is outside working hours until {_local(employee, start)}"
        if availability == "at_capacity":
            return f"{employee.name} is at their limit of {employee.max_open} open conversations"
        return f"{employee.name} is available"

    def decide(
        self,
        employee: Employee,
        rule: Rule | None,
        team: Team | None,
        standing_in_for: Employee | None,
        why: str,
    ) -> Decision:
        availability = self.availability(employee)
        off_shift = availability == "off_shift"
        stand_in = standing_in_for if standing_in_for is not employee else None
        self.reasons.append(f"{why}.")
        return Decision(
            employee=employee,
            rule=rule,
            team=team,
            availability=availability,
            available_at=employee.hours.next_opening(self.now) if off_shift else None,
            standing_in_for=stand_in,
            standing_in_because=self.availability(stand_in) if stand_in else None,
            reasons=tuple(self.reasons),
        )

    def within(
        self,
        members: Sequence[Employee],
        rule: Rule | None,
        team: Team,
        standing_in_for: Employee | None,
    ) -> Decision:
        # In load order, so that only those ahead of the chosen one need their hours
        # checked (teams can be hundreds strong); the sort is stable: ties stay in
        # the order of the config.
        ordered = sorted(members, key=self._load_order)
        first = next((i for i, m in enumerate(ordered) if self.available(m)), None)
        if first is not None:
            chosen, load = ordered[first], self.state(ordered[first]).open_conversations
            if passed := ordered[:first]:
                shown = "; ".join(self.describe(m, briefly=True) for m in passed[:_LISTED])
                more = f"; and {len(passed) - _LISTED} more" if len(passed) > _LISTED else ""
                self.reasons.append(f"Passed over in {team.name}: {shown}{more}.")
            why = f"{chosen.name} is available with the fewest open conversations in {team.name}"
            why += f" ({load})"
            tied: list[Employee] = []
            for other in ordered[first + 1 :]:
                if self.state(other).open_conversations != load or len(tied) > _LISTED:
                    break
                if self.available(other):
                    tied.append(other)
            if tied:
                names = _names(tied[:_LISTED]) + (" and others" if len(tied) > _LISTED else "")
                how = (
                    "and listed first in the config"
                    if self._load_order(tied[0]) == self._load_order(chosen)
                    else "but has waited longest since the last assignment"
                )
                why += f"; tied with {names}, {how}"
            return self.decide(chosen, rule, team, standing_in_for, why)
        statuses = "; ".join(self.describe(m) for m in members)
        self.reasons.append(f"Nobody in {team.name} is available now: {statuses}.")
        present = [m for m in members if not self.state(m).away_now] or list(members)
        with_room = [m for m in present if self.state(m).open_conversations < m.max_open]
        if with_room:
            chosen = min(with_room, key=lambda m: m.hours.next_opening(self.now))
            start = _local(chosen, chosen.hours.next_opening(self.now))
            why = f"{chosen.name} will be free first, at {start}"
            return self.decide(chosen, rule, team, standing_in_for, why)
        chosen = min(present, key=self._load_order)
        why = f"Everyone is at their limit; {chosen.name} has the fewest open conversations"
        return self.decide(chosen, rule, team, standing_in_for, why)

    def _load_order(self, employee: Employee) -> tuple[int, datetime]:
        state = self.state(employee)
        return state.open_conversations, state.last_assigned_at or _NEVER


_DEFAULT_STATE = EmployeeState()


def _names(employees: Sequence[Employee]) -> str:
    return ", ".join(e.name for e in employees)


def _local(employee: Employee, instant: datetime) -> str:
    zone = employee.hours.timezone
    return f"{instant.astimezone(zone):%a %d %b %H:%M} ({zone.key})"
