"""How the bot introduces a person to a customer: who will answer, and when. Pure."""

from __future__ import annotations

import math
from datetime import datetime

from routing import Decision, Employee, RoutingConfig
from routing.decision import Availability


def introduction(
    decision: Decision,
    config: RoutingConfig,
    previous_employee: str | None,
    now: datetime,
    *,
    handed_over_by: str | None = None,
    escalated_from: str | None = None,
    reply_time: float | None = None,
) -> str:
    """Two sentences: who will answer (and how they relate to the customer), then when:
    from `reply_time`, the seconds of work they usually take to reply (see
    reply_times.py), if known, else from their hours."""
    texts = config.triage.texts
    employee = decision.employee
    fields = person_fields(employee, decision.available_at, now)
    if escalated_from is not None:
        who = texts.escalated.format(previous=escalated_from, **fields)
    elif handed_over_by is not None:
        who = texts.transferred.format(previous=handed_over_by, **fields)
    elif previous_employee == employee.id:
        who = texts.welcome_back.format(**fields)
    elif decision.standing_in_for is not None and decision.standing_in_because is not None:
        usual = decision.standing_in_for
        why = standing_in_reason(usual, decision.standing_in_because, now)
        who = texts.standing_in.format(previous=usual.name, why=why, **fields)
    else:
        who = texts.handoff.format(**fields)
    when = {
        "available": texts.usually,
        "off_shift": texts.later,
        "at_capacity": texts.busy,
        "away": texts.away,
    }[decision.availability]
    if decision.available and reply_time is not None:
        return f"{who} {texts.replies_within.format(reply_time=within(reply_time), **fields)}"
    return f"{who} {when.format(**fields)}"


def within(seconds: float) -> str:
    """A reply time as a promise: `a minute`, `about 10 minutes`, `about 2 hours`."""
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return "a minute"
    if minutes < 10:
        return f"about {minutes} minutes"
    if minutes < 55:
        return f"about {5 * math.ceil(minutes / 5)} minutes"
    if minutes < 90:
        return "about an hour"
    return f"about {round(minutes / 60)} hours"  # of working time, so no "days"


def person_fields(
    employee: Employee, available_at: datetime | None, now: datetime
) -> dict[str, str]:
    return {
        "name": employee.name,
        "first_name": employee.name.split()[0],
        "title": employee.title,
        "hours": employee.hours.describe(),
        "when": when(employee, available_at, now) if available_at else "soon",
    }


def standing_in_reason(employee: Employee, availability: Availability, now: datetime) -> str:
    if availability == "off_shift":
        return f"is not working until {when(employee, employee.hours.next_opening(now), now)}"
    if availability == "at_capacity":
        return "is busy with other customers"
    return "is away"


def when(employee: Employee, instant: datetime, now: datetime) -> str:
    """`today at 16:00`, `tomorrow at 09:00`, `on Monday 30 Nov at 09:00`, in the
    employee's timezone, which is named."""
    zone = employee.hours.timezone
    local, today = instant.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    day = {0: "today", 1: "tomorrow"}.get(days, f"on {local:%A %d %b}")
    return f"{day} at {local:%H:%M} ({zone.key.replace('_', ' ')} time)"
