"""Why Telegram would not take a message, said for the employee who wrote it: the Bot
API's own words ("Forbidden: bot was blocked by the user", "Chat not found") are kept,
after a reason in plain words when we know what they mean."""

from __future__ import annotations

from telegram.error import TelegramError

# What the Bot API says (lower case, a part of its description), and what it means.
_MEANINGS = (
    ("bot was blocked by the user", "the customer blocked the bot"),
    ("user is deactivated", "the customer's Telegram account was deleted"),
    ("chat not found", "the chat is gone: the customer deleted it, or their account"),
    ("bot can't initiate conversation", "the customer has not started a chat with the bot"),
    ("message is too long", "the message is longer than Telegram takes"),
    ("file is too big", "the file is bigger than Telegram takes"),
)


def explained(error: TelegramError) -> str:
    """The reason a send was refused, for a note in the employee's thread."""
    said = str(error)
    meaning = next((plain for words, plain in _MEANINGS if words in said.lower()), None)
    return f"{meaning}; Telegram said: {said}" if meaning else f"Telegram said: {said}"
