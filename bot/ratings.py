"""Ratings: the words that close a conversation also ask the customer to rate it, 1 to
5 with an optional comment, or to skip it; once per conversation, unless config.yml
says `ratings: {enabled: false}`. A rating is shown in the conversation's thread
(`DeskWork.show_rating`) and kept, with the employee who had the conversation, for
reports (GET /admin/ratings). Where a channel's buttons carry a score alone
(`comment_next`), the score is followed by a request for a comment: the customer's
next text, within COMMENT_WITHIN, is the comment, shown in the thread with the score."""

from __future__ import annotations

from datetime import datetime, timedelta
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
COMMENT_WITHIN = timedelta(minutes=10)
SKIP = "Skip"  # the quick reply that declines to comment
COMMENT_ASK = f"Anything to add? Write it in your next message, or press {SKIP}."
COMMENT_THANKS = "Thank you, your comment is passed on."


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
        self,
        customer_id: int,
        asked: int,
        score: int | None,
        comment: str | None = None,
        *,
        comment_next: bool = False,
    ) -> Rated:
        """The customer answered the rating request in message `asked`: a score (None
        skips it) and maybe a comment. Stored once: a second answer changes nothing.
        With `comment_next`, a score without a comment is followed by a request for one
        (see `comment`)."""
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
            follow = comment_next and rating.comment is None
            text = "\n".join(filter(None, [config.ratings.thanks, COMMENT_ASK if follow else ""]))
            if text:
                reply = Reply(text, quick_replies=(SKIP,) if follow else ())
                details = {"comment_for": key(rating)} if follow else {}
                await self.conversations.say(tx, conversation, reply, details=details)
        return "rated"

    async def comment(self, customer_id: int, text: str, source_id: str) -> bool:
        """Whether the customer's text (`source_id` its id on the channel) answers the
        request for a comment: the newest message in their conversations asked for it,
        no more than COMMENT_WITHIN ago, and it was not answered. The comment is kept
        with the rating and the rating shown again in the thread, with it; SKIP (or
        nothing) declines. Handled twice, the same text is still taken as handled."""
        async with self.conversations.store.reading() as connection:  # most texts: a read
            found = await stored.latest(connection, customer_id)
        if found is None or self._awaited(found[0], source_id) == "no":
            return False
        limit = self.conversations.config().ratings.max_comment_chars
        async with self.conversations.transaction() as tx:
            found = await stored.latest(tx.connection, customer_id)
            if found is None:
                return False
            message, conversation = found
            if (awaited := self._awaited(message, source_id)) != "open":
                return awaited == "handled"
            rating_id = message.details["comment_for"]
            words = text.strip()[:limit].strip()
            answered = {**message.details, "comment_by": source_id}
            await change(tx.connection, message, details=answered)
            if words.casefold() in ("", SKIP.casefold()):
                return True
            if await stored.add_comment(tx.connection, rating_id, words):
                await tx.enqueue(ShowRating(rating_id), conversation_id=conversation.id)
                thanks, by = Reply(COMMENT_THANKS), {"comment_by": source_id}
                await self.conversations.say(tx, conversation, thanks, details=by)
        return True

    def _awaited(self, newest: Message, source_id: str) -> Literal["open", "handled", "no"]:
        """Whether the customer's newest message asks for a comment still ("open"), was
        answered by this very text ("handled": a repeated handling), or neither."""
        by = newest.details.get("comment_by")  # the prompt answered, or the thanks
        if by is not None:
            return "handled" if by == source_id else "no"
        if not isinstance(newest.details.get("comment_for"), int):
            return "no"
        late = self.conversations.clock() - newest.created_at > COMMENT_WITHIN
        return "no" if late else "open"


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
