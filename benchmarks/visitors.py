"""Widget visitors for load: one WebSocket each, as the browser widget opens it (hello,
welcome, then messages), all on the bench's one event loop. Leaner than the tests'
Visitor: frames are read as they come and only awaited ones are kept."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from benchmarks.app import ORIGIN
from benchmarks.peer import Figures

Matching = Callable[[dict[str, Any]], bool]
_ids = itertools.count(1)


def from_bot(message: dict[str, Any]) -> bool:
    return message.get("kind") == "bot"


class Dropped(Exception):
    """The app closed the socket before the awaited message came."""


@dataclass(frozen=True)
class Heard:
    message: dict[str, Any]
    at: float  # time.monotonic() when its frame was read


class Visitor:
    def __init__(self, socket: ClientConnection, token: str) -> None:
        self.socket = socket
        self.token = token
        self.errors: list[dict[str, Any]] = []  # error frames the app sent
        self._waiting: list[tuple[Matching, asyncio.Future[Heard]]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def arrive(cls, app_url: str, token: str | None = None) -> Visitor:
        """A new visitor (or, with `token`, one coming back, as the widget reconnects):
        the socket opened and the welcome read."""
        socket = await connect(
            app_url.replace("http", "ws", 1) + "/widget/socket",
            origin=Origin(ORIGIN),
            open_timeout=60,
            max_queue=None,  # frames are read at once anyway; no back-pressure games
        )
        await socket.send(json.dumps({"type": "hello", "token": token, "last_seen": 0}))
        welcome = json.loads(await socket.recv())
        assert welcome["type"] == "welcome", welcome
        return cls(socket, welcome["token"])

    def expect(self, matching: Matching) -> asyncio.Future[Heard]:
        """The next message frame that matches; ask before the message can come."""
        future: asyncio.Future[Heard] = asyncio.get_running_loop().create_future()
        self._waiting.append((matching, future))
        return future

    async def say(self, text: str, client_id: str | None = None) -> None:
        """Send a message (its ack is not awaited: the app's latency is measured where
        the message ends up). The widget resends a message with the same id."""
        frame = {"type": "message", "id": client_id or f"b{next(_ids)}", "text": text}
        await self.socket.send(json.dumps(frame))

    async def leave(self) -> None:
        self._reader.cancel()
        await self.socket.close()

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message" and self._waiting:
                    self._heard(frame["message"], time.monotonic())
                elif kind == "error":
                    self.errors.append(frame)
        except ConnectionClosed:
            pass
        for _matching, future in self._waiting:
            if not future.done():
                future.set_exception(Dropped("the app closed the socket"))
        self._waiting.clear()

    def _heard(self, message: dict[str, Any], at: float) -> None:
        for entry in list(self._waiting):
            matching, future = entry
            if future.done():
                self._waiting.remove(entry)
            elif matching(message):
                future.set_result(Heard(message, at))
                self._waiting.remove(entry)


@dataclass(frozen=True)
class Arrival:
    """One new customer: from opening the chat, and from sending the first message, to
    the bot's first reply."""

    from_open: float
    from_message: float
    reply: dict[str, Any]


async def new_customer(
    app_url: str, text: str, matching: Matching = from_bot, patience: float = 120
) -> Arrival:
    opened = time.monotonic()
    visitor = await Visitor.arrive(app_url)
    try:
        replied = visitor.expect(matching)
        sent = time.monotonic()
        await visitor.say(text)
        heard = await asyncio.wait_for(replied, patience)
    finally:
        await visitor.leave()
    return Arrival(heard.at - opened, heard.at - sent, heard.message)


@dataclass(frozen=True)
class Crowd:
    arrivals: tuple[Arrival, ...]
    elapsed: float
    dropped: int  # customers whose socket the app closed before the reply

    @property
    def served(self) -> int:
        """Customers who came, whether or not they got their reply."""
        return len(self.arrivals) + self.dropped

    @property
    def from_open(self) -> Figures:
        return Figures(tuple(a.from_open for a in self.arrivals), self.elapsed)

    @property
    def from_message(self) -> Figures:
        return Figures(tuple(a.from_message for a in self.arrivals), self.elapsed)

    def replies_containing(self, words: str) -> int:
        return sum(1 for a in self.arrivals if words in a.reply.get("text", ""))


async def crowd(
    app_url: str,
    texts: Sequence[str],
    *,
    at_once: int,
    count: int,
    matching: Matching = from_bot,
    first: int = 0,
    budget: float = float("inf"),
) -> Crowd:
    """`count` new customers, `at_once` at a time, each writing `texts[i]` once and
    waiting for the bot's first reply (as benchmarks.peer does for Rasa); no new ones
    after `budget` seconds, so that a slow app cannot stretch the bench for long."""
    arrivals: list[Arrival] = []
    dropped = 0
    deadline = time.monotonic() + budget

    async def worker(offset: int) -> None:
        nonlocal dropped
        for index in range(offset, count, at_once):
            if time.monotonic() > deadline:
                return
            text = texts[(first + index) % len(texts)]
            try:
                arrivals.append(await new_customer(app_url, text, matching))
            except Dropped:
                dropped += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(offset) for offset in range(at_once)))
    return Crowd(tuple(arrivals), time.monotonic() - started, dropped)
