"""Ratings: the words that close a conversation also ask the customer to rate it, 1 to
5 with an optional comment, or to skip it; once per conversation, unless config.yml
says `ratings: {enabled: false}`. A rating is shown in the conversation's thread
(`DeskWork.show_rating`) and kept, with the employee who had the conversation, for
reports (GET /admin/ratings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from bot.conversations import Conversations
from bot.jobs import ShowRating
from bot.outbox import Tx
from bot.store import Store
from bot.store import ratings as stored
from bot.store.rows import change, key
from bot.tables import Conversation, Message, Rating
from bot.triage import Reply
from routing import RoutingConfig

Rated = Literal["rated", "skipped", "already", "unknown"]
SCORES = range(1, 6)
ASKED = "asked"  # a message's details["rating"]: it asks for one


async def closing(
    conversations: Conversations, tx: Tx, conversation: Conversation, text: str
) -> Message:
    """The bot's words as a conversation closes, asking for a rating too when config.yml
    wants ratings and the conversation has none."""
    config = conversations.config()
    details: dict[str, Any] = {}
    if config.ratings.enabled and not await stored.rated(tx.connection, key(conversation)):
        who = conversation.employee_id
        name = conversations.person(who).name
        first = name.split()[0] if who and config.has_employee(who) else name  # "Your contact"
        ask = config.ratings.ask.format(name=name, first_name=first)
        text, details["rating"] = f"{text}\n{ask}", ASKED
    return await conversations.say(tx, conversation, Reply(text), details=details)


class Ratings:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations

    async def rate(
        self, customer_id: int, asked: int, score: int | None, comment: str | None = None
    ) -> Rated:
        """The customer answered the rating request in message `asked`: a score (None
        skips it) and maybe a comment. Stored once: a second answer changes nothing."""
        if score is not None and score not in SCORES:
            raise ValueError(f"a score is 1 to 5, not {score}")
        config = self.conversations.config()
        async with self.conversations.transaction() as tx:
            found = await stored.asked(tx.connection, customer_id, asked)
            if found is None or found[0].details.get("rating") != ASKED:
                return "unknown"
            message, conversation = found
            limit = config.ratings.max_comment_chars
            rating = Rating(
                conversation_id=key(conversation),
                customer_id=customer_id,
                employee_id=conversation.employee_id,
                score=score,
                comment=((comment or "").strip()[:limit] or None) if score else None,
                rated_at=self.conversations.clock(),
            )
            if not await stored.add_once(tx.connection, rating):
                return "already"
            answer = score if score is not None else "skipped"
            await change(tx.connection, message, details={**message.details, "rated": answer})
            if score is None:
                return "skipped"
            await tx.enqueue(ShowRating(key(rating)), conversation_id=conversation.id)
            if config.ratings.thanks:
                await self.conversations.say(tx, conversation, Reply(config.ratings.thanks))
        return "rated"


async def report(store: Store, config: RoutingConfig, since: datetime) -> list[dict[str, Any]]:
    """Per employee in the config (then anyone else rated): ratings since `since`, the
    average score, and how many customers skipped."""
    async with store.reading() as connection:
        found = await stored.per_employee(connection, since)
    empty = {"rated": 0, "average": None, "skipped": 0}
    known = [{"id": e.id, "name": e.name, **found.pop(e.id, empty)} for e in config.employees]
    others = [{"id": who, "name": None, **counts} for who, counts in found.items()]
    return known + others


def describe(rating: Rating) -> str:
    """A rating as the thread shows it, after the customer's name."""
    score = rating.score or 0
    text = f"rated this conversation {score} out of 5 {'★' * score}{'☆' * (5 - score)}"
    return f"{text}: “{rating.comment}”" if rating.comment else text
