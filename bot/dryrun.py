"""The dry run behind `frontdesk route` and `POST /admin/route`: what the NLU makes of
a text and who the rules would give it to, with the reasons. Nothing is stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nlu import Classification, NluError
from routing import Channel, RosterState, RoutingConfig, RoutingRequest, route


async def dry_run(
    text: str,
    *,
    classify: Callable[[str], Awaitable[Classification]],
    config: RoutingConfig,
    roster: RosterState,
    now: datetime,
    channel: Channel = "web",
    previous_employee: str | None = None,
    language: str | None = None,
    tags: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    classification: Classification | None = None
    nlu_error = None
    try:
        classification = await classify(text)
    except NluError as exc:
        nlu_error = str(exc)
    request = RoutingRequest(
        channel=channel,
        intent=classification.intent if classification else None,
        entities=frozenset(e.name for e in classification.entities)
        if classification
        else frozenset(),
        # As in a conversation: the language the text is written in wins over the stored one.
        language=(classification.language if classification else None) or language,
        customer_tags=tags,
        previous_employee=previous_employee,
    )
    decision = route(request, roster, config, now)
    employee = decision.employee
    return {
        "text": text,
        "intent": classification.intent if classification else None,
        "confidence": round(classification.confidence, 4) if classification else None,
        "below_min_confidence": (
            classification.confidence < config.triage.min_confidence if classification else None
        ),
        "entities": [{"name": e.name, "value": e.value} for e in classification.entities]
        if classification
        else [],
        "language": request.language,
        "nlu_error": nlu_error,
        "rule": decision.rule.name if decision.rule else None,
        "team": decision.team.id if decision.team else None,
        "employee": {"id": employee.id, "name": employee.name, "title": employee.title},
        "availability": decision.availability,
        "available_at": decision.available_at.isoformat() if decision.available_at else None,
        "standing_in_for": decision.standing_in_for.id if decision.standing_in_for else None,
        "reasons": list(decision.reasons),
    }


def as_text(result: dict[str, Any]) -> str:
    if result["nlu_error"]:
        understood = f"(NLU failed: {result['nlu_error']})"
    else:
        understood = f"{result['intent']} ({result['confidence']:.2f})"
        if result["below_min_confidence"]:
            understood += " - below min_confidence: the bot would ask one clarifying question first"
    entities = ", ".join(f"{e['name']}={e['value']}" for e in result["entities"]) or "none"
    employee = result["employee"]
    lines = [
        f"Intent:    {understood}",
        f"Entities:  {entities}",
        f"Language:  {result['language'] or 'unknown'}",
        f"Rule:      {result['rule'] or '(none; fallback)'}",
        f"Employee:  {employee['name']}, {employee['title']} ({result['availability']})",
        "Why:",
        *(f"  - {reason}" for reason in result["reasons"]),
    ]
    return "\n".join(lines)
