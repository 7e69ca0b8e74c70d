"""How news of new messages reaches a customer's open widget sockets in this process:
the hub wakes each socket with the ids news named, and each socket remembers the ids it
sent lately, so that it sends every message once."""

from __future__ import annotations

import asyncio

from bot.latest import Latest


class Wake:
    """What a socket is woken for: the ids of new messages it may not have shown."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.ids: set[int] = set()

    def mark(self, message_id: int) -> None:
        self.ids.add(message_id)
        self.event.set()

    def take(self) -> set[int]:
        ids, self.ids = self.ids, set()
        self.event.clear()
        return ids


class WidgetHub:
    """Wakes the open sockets of a customer when there is a new message for them."""

    def __init__(self) -> None:
        self._waiting: dict[int, set[Wake]] = {}

    def subscribe(self, customer_id: int) -> Wake:
        wake = Wake()
        self._waiting.setdefault(customer_id, set()).add(wake)
        return wake

    def unsubscribe(self, customer_id: int, wake: Wake) -> None:
        self._waiting.get(customer_id, set()).discard(wake)
        if not self._waiting.get(customer_id):
            self._waiting.pop(customer_id, None)

    def heard(self, news: str) -> None:
        """News "customer:12:345": message 345 is for customer 12."""
        _, customer, message = news.split(":")
        for wake in self._waiting.get(int(customer), ()):
            wake.mark(int(message))


class Recent(Latest[int, None]):
    """The last `size` ids added, for membership tests."""

    def add(self, item: int) -> None:
        self.put(item, None)
