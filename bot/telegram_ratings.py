"""Ratings on Telegram: the closing message's inline keyboard (1 to 5, and Skip), and the
customer's press on it, a callback_query, handed to the core and answered with
answerCallbackQuery (which ends the spinner on the button); the keyboard then goes. A
button carries a score alone, so the core then asks for a comment (with a Skip button)
and takes the customer's next text as one (`commented`)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.conversations import Conversations
from bot.ratings import SCORES, Rated, Ratings

if TYPE_CHECKING:
    from bot.telegram import Inbound  # which imports this module

log = logging.getLogger(__name__)

_DATA = re.compile(r"^rate:(\d{1,18}):([1-5]|skip)$")  # at most 64 bytes, as Telegram allows
_ANSWERS: dict[Rated, str] = {
    "rated": "Thank you!",
    "skipped": "Skipped. Thank you!",
    "already": "This conversation has its rating already.",
    "unknown": "This button no longer works.",
}


def parse(data: str) -> tuple[int, int | None] | None:
    """A button's callback data as (the asking message's id, the score; None skips),
    or None for data no button of ours carries (a client can send anything)."""
    found = _DATA.match(data)
    if found is None:
        return None
    return int(found[1]), None if found[2] == "skip" else int(found[2])


class TelegramRatings:
    def __init__(self, bot: Bot, conversations: Conversations) -> None:
        self.bot = bot
        self.ratings = Ratings(conversations)

    @staticmethod
    def keyboard(asked: int) -> InlineKeyboardMarkup:
        """Buttons 1 to 5 (with stars, so that the scale reads at a glance) and Skip."""
        scores = [
            InlineKeyboardButton(f"{score} {'★' * score}", callback_data=f"rate:{asked}:{score}")
            for score in SCORES
        ]
        skip = InlineKeyboardButton("Skip", callback_data=f"rate:{asked}:skip")
        return InlineKeyboardMarkup([scores[:3], scores[3:], [skip]])

    async def pressed(self, customer_id: int, button: Inbound) -> Rated:
        """A rating button was pressed (`button.text` its data): the rating to the core,
        then Telegram told. The answer and the keyboard's removal are courtesies: an
        expired query or a message edited already changes nothing stored, so their
        failures are only logged."""
        assert button.query is not None
        found = parse(button.text)
        outcome = (
            "unknown"
            if found is None
            else await self.ratings.rate(customer_id, *found, comment_next=True)
        )
        try:
            await self.bot.answer_callback_query(button.query, text=_ANSWERS[outcome])
            if outcome != "unknown" and button.message_id is not None:
                await self.bot.edit_message_reply_markup(
                    button.chat_id, button.message_id, reply_markup=None
                )
        except TelegramError as exc:
            log.info("telegram rating not acknowledged", extra={"error": type(exc).__name__})
        return outcome

    async def commented(self, customer_id: int, text: Inbound) -> bool:
        """Whether the customer's text was the comment on their rating (or declined
        to give one), and so is not a message for the conversation."""
        source_id = f"{text.chat_id}:{text.message_id}"
        return await self.ratings.comment(customer_id, text.text, source_id)
