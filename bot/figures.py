"""The report's figures from stored records, as tables (lists of rows with the same
keys, so that each is JSON and CSV alike): volume by topic, first-response times,
continuity and transfers. Pure: the records in, the tables out."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from routing import RoutingConfig
from routing.reasons import MISSED, why_missed

Row = dict[str, Any]
Table = list[Row]
By = Literal["day", "week"]
UNKNOWN = "(unknown)"  # a conversation triage found no topic for
# How employees.py words a transfer's first reason ("Priya transferred the
# conversation (team billing)."); tests/bot/test_reports.py transfers to check it.
TRANSFERRED = " transferred the conversation ("


@dataclass(frozen=True)
class Period:
    """[start, end), counted in days or weeks (UTC), and the period as long before it."""

    start: datetime
    end: datetime
    by: By = "day"

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start, self.by)

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def bucket(self, at: datetime) -> str:
        """The day, or the Monday of the week, `at` falls in."""
        day: date = at.date()
        if self.by == "week":
            day -= timedelta(days=day.weekday())
        return day.isoformat()


def topic(intent: str | None) -> str:
    return intent or UNKNOWN


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0..1), interpolated between the closest ranks (the median
    for 0.5); None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def change(now: float, before: float) -> float | None:
    """Relative change, in percent (None when there was nothing before)."""
    return round((now - before) / before * 100, 1) if before else None


def volume(conversations: Iterable[Any], period: Period) -> tuple[Table, Table]:
    """Conversations started per topic: per day or week, and over the period against
    the one before."""
    per_bucket: Counter[tuple[str, str]] = Counter()
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for conversation in conversations:
        name = topic(conversation.intent)
        if period.holds(conversation.created_at):
            now[name] += 1
            per_bucket[(period.bucket(conversation.created_at), name)] += 1
        else:
            before[name] += 1
    buckets = [
        {"period_start": b, "topic": t, "conversations": n}
        for (b, t), n in sorted(per_bucket.items())
    ]
    topics = [
        {"topic": t, "conversations": now[t], "previous": before[t],
         "change_percent": change(now[t], before[t])}
        for t in sorted(now.keys() | before.keys(), key=lambda t: (-now[t], t))
    ]  # fmt: skip
    return buckets, topics


def team_of(assignment: Mapping[str, Any], config: RoutingConfig) -> str:
    """The team an assignment was within; for one to a named person, their first team."""
    if assignment["team_id"]:
        return str(assignment["team_id"])
    employee = assignment["employee_id"]
    return config.employee(employee).teams[0] if config.has_employee(employee) else UNKNOWN


def first_responses(
    assignments: Iterable[Mapping[str, Any]], period: Period, config: RoutingConfig
) -> tuple[Table, Table, Table]:
    """p50 and p90 of the working time each assignee took to reply first (as stored at
    the reply, in their working hours), per team, per person and per day or week; the
    assignments made in the period, transfers included, each counted for its assignee.
    `waiting`: assignments with no reply yet."""
    mine = [a for a in assignments if period.holds(a["assigned_at"])]

    def table(key: str, of: Callable[[Mapping[str, Any]], str]) -> Table:
        replies: dict[str, list[float]] = defaultdict(list)
        waiting: Counter[str] = Counter()
        for assignment in mine:
            seconds = assignment["first_reply_seconds"]
            if seconds is None:
                waiting[of(assignment)] += 1
            else:
                replies[of(assignment)].append(float(seconds))
        return [
            {key: name, "replies": len(replies[name]), "waiting": waiting[name],
             "p50_seconds": percentile(replies[name], 0.5),
             "p90_seconds": percentile(replies[name], 0.9)}
            for name in sorted(replies.keys() | waiting.keys())
        ]  # fmt: skip

    return (
        table("team", lambda a: team_of(a, config)),
        table("employee", lambda a: str(a["employee_id"])),
        table("period_start", lambda a: period.bucket(a["assigned_at"])),
    )


def continuity(
    assignments: Sequence[Mapping[str, Any]], period: Period, config: RoutingConfig
) -> Table:
    """Of the conversations first routed in the period whose customer had been given to
    someone before: how many reached that person again, and why the others did not (from
    the routing reasons stored with the first assignment)."""
    last: dict[int, tuple[int, str]] = {}  # customer -> (conversation, their person)
    outcomes: Counter[str] = Counter()
    seen: set[int] = set()
    for assignment in assignments:  # oldest first
        conversation, customer = assignment["conversation_id"], assignment["customer_id"]
        if conversation not in seen:
            seen.add(conversation)
            earlier = last.get(customer)
            if earlier is not None and period.holds(assignment["assigned_at"]):
                outcomes[_outcome(assignment, earlier[1], config)] += 1
        last[customer] = (conversation, assignment["employee_id"])
    returning = sum(outcomes.values())
    return [
        {"outcome": name, "conversations": outcomes[name],
         "share": round(outcomes[name] / returning, 3) if returning else None}
        for name in ("reached", *MISSED)
    ]  # fmt: skip


def _outcome(first: Mapping[str, Any], previous: str, config: RoutingConfig) -> str:
    if first["employee_id"] == previous:
        return "reached"
    if not config.has_employee(previous):
        return "left"
    return why_missed(first["reasons"])


def transfers(
    assignments: Sequence[Mapping[str, Any]], period: Period, config: RoutingConfig
) -> Table:
    """Transfers made in the period by topic, from the team that had the conversation
    to the team it went to: where routing sends conversations people then pass on."""
    held: dict[int, Mapping[str, Any]] = {}
    found: Counter[tuple[str, str, str]] = Counter()
    for assignment in assignments:  # oldest first
        earlier = held.get(assignment["conversation_id"])
        held[assignment["conversation_id"]] = assignment
        reasons = assignment["reasons"]
        is_transfer = bool(reasons) and TRANSFERRED in reasons[0]
        if earlier is not None and is_transfer and period.holds(assignment["assigned_at"]):
            route = (
                topic(assignment["intent"]),
                team_of(earlier, config),
                team_of(assignment, config),
            )
            found[route] += 1
    return [
        {"topic": t, "from_team": a, "to_team": b, "transfers": n}
        for (t, a, b), n in sorted(found.items(), key=lambda i: (-i[1], i[0]))
    ]
