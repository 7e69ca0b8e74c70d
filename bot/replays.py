"""What if (issue 8): a candidate config replayed against the running one over the
conversations routed in a period (routing/replay.py says how faithfully), read from
the store, with the first words of the example conversations for admins to judge."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from bot.reports import snippet
from bot.settings import check_routing_config
from bot.store import Store, history
from routing import RoutingConfig, RoutingRequest
from routing.replay import Comparison, Move, Outcome, PastConversation, Start, compare

FALLBACK_LISTED = 20  # conversations newly falling to the fallback, listed at most
SOURCE = "candidate config"  # how problems name the text given


def candidate(text: str) -> RoutingConfig:
    """A config given as text, checked as `frontdesk check-config` checks a file.
    Raises ConfigError."""
    return check_routing_config(text, SOURCE)


async def what_if(
    store: Store,
    running: RoutingConfig,
    proposed: RoutingConfig,
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    """The comparison as JSON: counts, per rule with examples, load per person before
    and after, and the conversations that would fall to the fallback."""
    async with store.reading() as connection:
        rows = await history.routed(connection, since, until)
        start = Start(
            open=await history.open_at(connection, since),
            previous=await history.previous_people(connection, since, until),
            last_assigned=await history.last_assigned(connection, since),
        )
    past = [
        PastConversation(
            id=r.id,
            customer_id=r.customer_id,
            routed_at=r.routed_at,
            closed_at=r.closed_at,
            request=RoutingRequest(
                channel=r.channel,
                intent=r.intent,
                entities=frozenset(r.entities),
                language=r.language,
                customer_tags=frozenset(r.tags),
            ),
            employee_id=r.employee_id,
        )
        for r in rows
    ]
    # Pure and CPU-bound (about a second for 10,000): off the event loop.
    found = await asyncio.to_thread(compare, past, running, proposed, start)
    shown = [m for r in found.rules for m in r.examples] + list(found.to_fallback[:FALLBACK_LISTED])
    async with store.reading() as connection:
        words = await history.first_words(connection, {m.conversation.id for m in shown})
    return _as_json(found, words, running, proposed, since, until)


def _as_json(
    found: Comparison,
    words: dict[int, str],
    running: RoutingConfig,
    proposed: RoutingConfig,
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    def name(employee: str) -> str | None:
        for config in (proposed, running):
            if config.has_employee(employee):
                return config.employee(employee).name
        return None

    def outcome(o: Outcome) -> dict[str, Any]:
        return {"employee": o.employee, "name": name(o.employee), "team": o.team, "rule": o.rule}

    def move(m: Move) -> dict[str, Any]:
        said = words.get(m.conversation.id)
        return {"conversation_id": m.conversation.id,
                "snippet": snippet(said) if said is not None else None,
                "before": outcome(m.before), "after": outcome(m.after)}  # fmt: skip

    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "conversations": found.conversations,
        "other_person": found.other_person,
        "other_team": found.other_team,
        "as_stored": found.as_stored,
        "rules": [
            {"rule": r.rule, "before": r.before, "after": r.after, "moved": r.moved,
             "examples": [move(m) for m in r.examples]}
            for r in found.rules
        ],
        "load": [
            {"employee": e, "name": name(e),
             "before_assigned": b.assigned, "after_assigned": a.assigned,
             "before_peak_open": b.peak_open, "after_peak_open": a.peak_open}
            for e, (b, a) in found.load.items()
        ],
        "to_fallback": {
            "conversations": len(found.to_fallback),
            "examples": [move(m) for m in found.to_fallback[:FALLBACK_LISTED]],
        },
    }  # fmt: skip
