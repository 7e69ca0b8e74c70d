"""What if: the routing decision run again over past conversations, in the order they
were routed, with a roster whose load grows as the replay assigns them and shrinks as
they closed; and how a candidate config's replay differs from the running one's.

Faithful to what the store keeps, no further: the intent, entities and channel
triage stored; the customer's language and tags as they are now; a customer's previous
person as the replay itself assigned them (the stored one before the period); each
conversation held by the person it was replayed to from its routing until its stored
close (transfers later in a conversation are not replayed). Away flags and the desk's
presence are not kept over time, so nobody counts as away. Both configs are replayed
under the same assumptions, so what they change cancels out of the comparison."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from routing.config import RoutingConfig
from routing.decision import Decision, EmployeeState, RoutingRequest, route

FALLBACK = "fallback"  # the rule name given to decisions no rule made
EXAMPLES = 3  # example conversations kept per rule


@dataclass(frozen=True)
class PastConversation:
    """A stored conversation as the replay needs it: routed at `routed_at`, closed at
    `closed_at` (None: still open), given then to `employee_id`."""

    id: int
    customer_id: int
    routed_at: datetime
    closed_at: datetime | None
    request: RoutingRequest  # previous_employee is filled in by the replay
    employee_id: str | None = None  # who it was actually given to


@dataclass(frozen=True)
class Start:
    """The roster when the period begins: who holds which conversation still open then
    (and when it closes), each customer's person, each employee's last assignment."""

    open: Sequence[tuple[str, datetime | None]] = ()  # (employee, closed at) per conversation
    previous: Mapping[int, str] = field(default_factory=dict)  # customer -> employee
    last_assigned: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    employee: str
    team: str  # the team chosen within, or the named person's first team
    rule: str  # a rule's name, or FALLBACK

    @classmethod
    def of(cls, decision: Decision) -> Outcome:
        team = decision.team.id if decision.team else decision.employee.teams[0]
        rule = decision.rule.name if decision.rule else FALLBACK
        return cls(decision.employee.id, team, rule)


@dataclass(frozen=True)
class Load:
    """One employee's conversations in one replay: how many they were given, and the
    most they held open at once."""

    assigned: int = 0
    peak_open: int = 0


@dataclass(frozen=True)
class Run:
    """One config replayed: each conversation's outcome, in routing order, and load."""

    outcomes: tuple[Outcome, ...]
    load: Mapping[str, Load]


def replay(
    conversations: Sequence[PastConversation], config: RoutingConfig, start: Start = Start()
) -> Run:
    """Route each conversation (sorted by `routed_at`) at the time it was routed."""
    roster: dict[str, EmployeeState] = {
        e: EmployeeState(last_assigned_at=at) for e, at in start.last_assigned.items()
    }
    closing: list[tuple[datetime, int, str]] = []  # (closes at, tie-break, employee)
    for n, (employee, closed_at) in enumerate(start.open):
        _take(roster, employee, None)
        if closed_at is not None:
            heapq.heappush(closing, (closed_at, -n - 1, employee))
    previous = dict(start.previous)
    outcomes: list[Outcome] = []
    assigned: dict[str, int] = {}
    peak: dict[str, int] = {}
    for conversation in conversations:
        now = conversation.routed_at
        while closing and closing[0][0] <= now:
            _, _, employee = heapq.heappop(closing)
            state = roster[employee]  # nobody is away in a replay: load alone
            roster[employee] = EmployeeState(
                open_conversations=state.open_conversations - 1,
                last_assigned_at=state.last_assigned_at,
            )
        request = replace(
            conversation.request, previous_employee=previous.get(conversation.customer_id)
        )
        outcome = Outcome.of(route(request, roster, config, now))
        outcomes.append(outcome)
        employee = outcome.employee
        held = _take(roster, employee, now)
        assigned[employee] = assigned.get(employee, 0) + 1
        peak[employee] = max(peak.get(employee, 0), held)
        previous[conversation.customer_id] = employee
        if conversation.closed_at is not None:
            heapq.heappush(closing, (conversation.closed_at, conversation.id, employee))
    load = {e: Load(assigned.get(e, 0), peak.get(e, 0)) for e in assigned.keys() | peak.keys()}
    return Run(tuple(outcomes), load)


def _take(roster: dict[str, EmployeeState], employee: str, at: datetime | None) -> int:
    """One more open conversation for `employee` (assigned `at`, if it is a new one);
    how many they hold now."""
    state = roster.get(employee, EmployeeState())
    held = state.open_conversations + 1
    roster[employee] = EmployeeState(
        open_conversations=held, last_assigned_at=at or state.last_assigned_at
    )
    return held


@dataclass(frozen=True)
class Move:
    conversation: PastConversation
    before: Outcome
    after: Outcome


@dataclass(frozen=True)
class RuleChange:
    """A rule (or the fallback) in either config: how many conversations it claimed in
    each replay, how many it now sends to another person, and some of those."""

    rule: str
    before: int
    after: int
    moved: int
    examples: tuple[Move, ...]


@dataclass(frozen=True)
class Comparison:
    conversations: int
    other_person: int
    other_team: int
    rules: tuple[RuleChange, ...]  # the candidate's rules in order, the fallback, then gone ones
    load: Mapping[str, tuple[Load, Load]]  # employee -> (before, after)
    to_fallback: tuple[Move, ...]  # conversations a rule claimed before and the fallback after
    as_stored: int  # conversations the running config's replay gives to whom they went


def compare(
    conversations: Sequence[PastConversation],
    running: RoutingConfig,
    candidate: RoutingConfig,
    start: Start = Start(),
) -> Comparison:
    """Replay the period under both configs and say what the candidate changes."""
    ordered = sorted(conversations, key=lambda c: (c.routed_at, c.id))
    before, after = replay(ordered, running, start), replay(ordered, candidate, start)
    moves = [
        Move(c, b, a) for c, b, a in zip(ordered, before.outcomes, after.outcomes, strict=True)
    ]
    moved = [m for m in moves if m.before.employee != m.after.employee]
    names = _rule_names(candidate, running)
    rules = tuple(
        RuleChange(
            rule=name,
            before=sum(m.before.rule == name for m in moves),
            after=sum(m.after.rule == name for m in moves),
            moved=len(mine := [m for m in moved if m.after.rule == name]),
            examples=tuple(mine[:EXAMPLES]),
        )
        for name in names
    )
    people = before.load.keys() | after.load.keys()
    return Comparison(
        conversations=len(moves),
        other_person=len(moved),
        other_team=sum(m.before.team != m.after.team for m in moves),
        rules=rules,
        load={e: (before.load.get(e, Load()), after.load.get(e, Load())) for e in sorted(people)},
        to_fallback=tuple(
            m for m in moves if m.after.rule == FALLBACK and m.before.rule != FALLBACK
        ),
        as_stored=sum(m.before.employee == m.conversation.employee_id for m in moves),
    )


def _rule_names(candidate: RoutingConfig, running: RoutingConfig) -> list[str]:
    names = [r.name for r in candidate.rules]
    return [*names, FALLBACK, *_unseen((r.name for r in running.rules), names)]


def _unseen(names: Iterable[str], seen: Sequence[str]) -> list[str]:
    return [n for n in names if n not in seen]
