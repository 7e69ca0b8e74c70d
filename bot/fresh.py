"""Messages this instance committed a moment ago, kept for its customers' open sockets:
a socket told of a new message takes it from here rather than read it back from the
database (on the way of every reply, and of a customer's message to their other open
sockets). News from other instances names messages not kept here; those are read."""

from __future__ import annotations

from collections.abc import Iterable

from bot.latest import Latest
from bot.store.rows import key
from bot.tables import CUSTOMER_VISIBLE, Message

KEPT = 1000  # the newest messages; a socket takes its own within milliseconds


class FreshMessages:
    def __init__(self, size: int = KEPT) -> None:
        self._kept: Latest[int, tuple[int, Message]] = Latest(size)

    def add(self, customer_id: int, message: Message) -> None:
        """Keep a committed message of `customer_id`'s (not before it commits: a rolled
        back id can be given again on SQLite)."""
        self._kept.put(key(message), (customer_id, message))

    def take(self, customer_id: int, ids: Iterable[int]) -> tuple[list[Message], list[int]]:
        """Of these ids, the kept messages this customer may see, and the ids not kept
        (to be read). A kept message of someone else's, or one customers do not see, is
        neither: the database would not give it either."""
        found: list[Message] = []
        missing: list[int] = []
        for message_id in ids:
            kept = self._kept.get(message_id)
            if kept is None:
                missing.append(message_id)
            elif kept[0] == customer_id and kept[1].author in CUSTOMER_VISIBLE:
                found.append(kept[1])
        return found, missing
