"""The widget's view of stored messages: what a customer's socket is sent, as frames
(text, who wrote it, the person a bot's message introduces, files, a rating asked)."""

from __future__ import annotations

from typing import Any

from bot.conversations import Conversations
from bot.ratings import ASKED
from bot.roles import Person
from bot.store.messages import seen_by_customer, seen_by_customer_after
from bot.store.rows import key
from bot.tables import Message
from bot.visitors import NAME
from bot.widget_files import WidgetFiles

PAGE = 200  # messages read at a time


class WidgetMessages:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.store = conversations.store
        self.files: WidgetFiles | None = None  # employees' files, when a desk keeps them

    async def after(self, customer_id: int, cursor: int) -> list[dict[str, Any]]:
        """A page of what the customer may see after message `cursor`."""
        async with self.store.reading() as connection:
            found = await seen_by_customer_after(connection, customer_id, cursor, PAGE)
        return [self.frame(message) for message in found]

    async def these(self, customer_id: int, ids: list[int]) -> list[dict[str, Any]]:
        """These of the customer's messages, oldest first: those committed here a moment
        ago from memory, the others read."""
        found, missing = self.conversations.fresh.take(customer_id, ids)
        if missing:
            async with self.store.reading() as connection:
                found += await seen_by_customer(connection, customer_id, missing)
            found.sort(key=key)
        return [self.frame(message) for message in found]

    def frame(self, message: Message) -> dict[str, Any]:
        """A stored message as the widget shows it: text, and who wrote it."""
        author: dict[str, Any] = {"name": "You"}
        if message.author == "bot":
            author = {"name": self.conversations.config().company.bot_name, "title": "Bot"}
        elif message.author == "employee":
            author = _person(self.conversations.person(message.employee_id))
        frame: dict[str, Any] = {
            "id": message.id,
            "kind": message.author,
            "author": author,
            "text": message.body,
            "at": message.created_at.isoformat(),
        }
        if message.author == "customer" and message.source == NAME and message.source_id:
            frame["client_id"] = message.source_id.partition(":")[2]
        if quick := message.details.get("quick_replies"):
            frame["quick_replies"] = quick
        if introduces := self.conversations.introduced(message):
            frame["introduces"] = _person(introduces)
        if message.details.get("rating") == ASKED:
            frame["rating"] = {"rated": message.details.get("rated")}
        if self.files is not None and message.details.get("files"):
            frame["files"] = self.files.links(message)
        return frame


def _person(person: Person) -> dict[str, Any]:
    return {
        "name": person.name,
        "title": person.title,
        "photo_url": person.photo_url,
        "hours": person.hours,
        "replies_within": person.replies_within,
    }
