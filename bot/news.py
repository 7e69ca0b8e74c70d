"""News that something changed ("jobs", "customer:12"): heard at once by listeners in
this instance, and by the other instances through the database (PostgreSQL's
LISTEN/NOTIFY; SQLite has one instance)."""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable

from bot.store import Connection, Store

log = logging.getLogger(__name__)

Listener = Callable[[str], None]


class News:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._me = secrets.token_hex(4)  # our own notifications come back: skip them
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, topic: str, listener: Listener) -> None:
        """`listener` hears news whose topic (the part before ":") is `topic`."""
        self._listeners[topic].append(listener)

    async def publish(self, connection: Connection, *news: str) -> None:
        """Other instances hear `news` when the transaction on `connection` commits."""
        await self.store.notify(connection, [f"{self._me}|{each}" for each in news])

    def deliver(self, news: str) -> None:
        """Tell this instance's listeners. Called after a commit, so a listener's
        failure is logged and goes no further: what was committed stands."""
        for listener in self._listeners.get(news.partition(":")[0], ()):
            try:
                listener(news)
            except Exception:
                log.exception("a news listener failed", extra={"news": news})

    async def listen(self) -> None:
        """Hear the other instances, until cancelled."""
        await self.store.listen(self._heard)

    def _heard(self, notification: str) -> None:
        sender, _, news = notification.partition("|")
        if sender != self._me:
            self.deliver(news)
