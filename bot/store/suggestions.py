"""Suggested training examples: one per conversation, read back grouped by their words
and intent, and decided (accepted or rejected) a group at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update

from bot.store import Connection
from bot.store.rows import add, change, model, models
from bot.tables import Message, Suggestion, messages, suggestions

SUGGESTED = "suggested"

_OF_CONVERSATION = select(suggestions).where(
    suggestions.c.conversation_id == bindparam("conversation")
)
_DECIDED_BEFORE = (
    select(suggestions.c.status)
    .where(
        suggestions.c.normalised == bindparam("normalised"),
        suggestions.c.suggested_intent == bindparam("intent"),
        suggestions.c.status != SUGGESTED,
    )
    .order_by(suggestions.c.decided_at.desc())
    .limit(1)
)
_FIRST_FROM_CUSTOMER = (
    select(messages)
    .where(messages.c.conversation_id == bindparam("conversation"))
    .where(messages.c.author == "customer")
    .order_by(messages.c.id)
    .limit(1)
)
_ALL = select(suggestions).order_by(suggestions.c.id)


async def first_message(connection: Connection, conversation_id: int) -> Message | None:
    """What the customer wrote first in the conversation (what triage classified)."""
    found = await connection.execute(_FIRST_FROM_CUSTOMER, {"conversation": conversation_id})
    row = found.first()
    return model(Message, row) if row is not None else None


async def suggest(connection: Connection, suggestion: Suggestion) -> Suggestion:
    """Store the conversation's suggestion. A later transfer of the same conversation
    replaces what the earlier one suggested, while nobody has decided on it; words and
    an intent someone already accepted or rejected take that decision."""
    found = (
        await connection.execute(_OF_CONVERSATION, {"conversation": suggestion.conversation_id})
    ).first()
    if found is not None:
        earlier = model(Suggestion, found)
        if earlier.status == SUGGESTED:
            await change(
                connection, earlier,
                suggested_intent=suggestion.suggested_intent,
                employee_id=suggestion.employee_id,
                created_at=suggestion.created_at,
            )  # fmt: skip
        return earlier
    example = {"normalised": suggestion.normalised, "intent": suggestion.suggested_intent}
    decided = (await connection.execute(_DECIDED_BEFORE, example)).scalar()
    if decided is not None:
        suggestion.status = decided
    return await add(connection, suggestion)


async def every(connection: Connection) -> list[Suggestion]:
    """Every suggestion, oldest first."""
    return models(Suggestion, (await connection.execute(_ALL)).all())


async def decide(
    connection: Connection, ids: list[int], status: str, by: str, now: datetime
) -> None:
    """Accept or reject these suggestions (those still waiting)."""
    await connection.execute(
        update(suggestions)
        .where(suggestions.c.id.in_(ids), suggestions.c.status == SUGGESTED)
        .values(status=status, decided_by=by, decided_at=now)
    )
