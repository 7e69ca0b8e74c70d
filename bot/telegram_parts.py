"""Messages to Telegram as the Bot API calls that send them, in order: the photo of a
person introduced, the text (cut under 4,096 characters, its keyboard on the last part),
then the files (pictures as photos, anything else as documents)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from telegram import Bot, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.roles import FileContent, Outgoing
from bot.telegram_ratings import TelegramRatings

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PHOTO_LIMIT = 10_000_000  # bytes: sendPhoto's limit; a bigger picture goes as a document
_PHOTOS = {"image/jpeg", "image/png", "image/webp", "image/gif"}

Send = Callable[[int], Awaitable[object]]  # one part of a message, to a chat


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut text into parts of at most `limit` characters that join back to exactly
    the text; cuts fall after a newline or space where there is one."""
    parts = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n"), window.rfind(" "))
        cut = cut + 1 if cut > limit // 2 else limit
        parts.append(text[:cut])
        text = text[cut:]
    return [*parts, text] if text or not parts else parts


def parts(bot: Bot, message: Outgoing) -> list[Send]:
    """A message as the Bot API calls that send it, in order. A person's message names
    them (and their team); with files and no text, the first file's caption does."""
    author = message.author
    label = (f"{author.name} ({author.team})" if author.team else author.name) if author else None
    found: list[Send] = []
    person = message.introduces
    if person is not None and person.photo_url:
        caption = "\n".join(filter(None, [f"{person.name}, {person.title}", person.usually]))
        photo = str(person.photo_url)
        found.append(partial(bot.send_photo, photo=photo, caption=caption[:CAPTION_LIMIT]))
    keyboard: ReplyKeyboardMarkup | InlineKeyboardMarkup | None = None
    if message.quick_replies:
        rows = [[KeyboardButton(text)] for text in message.quick_replies]
        keyboard = ReplyKeyboardMarkup(rows, one_time_keyboard=True, resize_keyboard=True)
    elif message.rating is not None:
        keyboard = TelegramRatings.keyboard(message.rating)
    if message.text or not message.files:
        chunks = split(f"{label}: {message.text}" if label else message.text)
        for i, chunk in enumerate(chunks):
            markup = keyboard if i == len(chunks) - 1 else None
            found.append(partial(bot.send_message, text=chunk, reply_markup=markup))
    for i, file in enumerate(message.files):
        found.append(_file(bot, file, label if i == 0 and not message.text else None))
    return found


def _file(bot: Bot, file: FileContent, caption: str | None) -> Send:
    if file.media_type in _PHOTOS and len(file.data) <= PHOTO_LIMIT:
        return partial(bot.send_photo, photo=file.data, filename=file.name, caption=caption)
    return partial(bot.send_document, document=file.data, filename=file.name, caption=caption)
