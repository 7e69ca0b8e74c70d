"""A widget visitor over a real WebSocket: what the browser widget does, minus the page."""

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

import websockets

_ids = itertools.count(1)


class Refused(Exception):
    """The server would not let the visitor in: its error frame's code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class Visitor:
    """`identity`: what the site vouches for ({id, name, email, hash}); `address`: the
    network address the app sees (sent as X-Forwarded-For, which it trusts from 127.0.0.1)."""

    def __init__(
        self,
        app_url: str,
        token: str | None = None,
        origin: str | None = None,
        *,
        identity: dict[str, str] | None = None,
        address: str | None = None,
        last_seen: int = 0,
    ) -> None:
        self.url = app_url.replace("http", "ws", 1) + "/widget/socket"
        self.origin = origin or app_url
        self.token = token
        self.identity = identity
        self.last_seen = last_seen  # the newest message it says it has shown
        self.headers = {"X-Forwarded-For": address} if address else {}
        self.messages: list[dict[str, Any]] = []  # every message frame, in order
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.socket: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Visitor":
        self.socket = await websockets.connect(
            self.url,
            origin=self.origin,
            additional_headers=self.headers,  # type: ignore[arg-type]
        )
        hello = {"type": "hello", "token": self.token, "last_seen": self.last_seen}
        if self.identity is not None:
            hello["identity"] = self.identity
        with contextlib.suppress(websockets.ConnectionClosed):  # refused before the hello
            await self.socket.send(json.dumps(hello))
        welcome = json.loads(await self.socket.recv())
        if welcome["type"] != "welcome":
            await self.socket.close()
            raise Refused(welcome["code"], welcome["message"])
        self.token = welcome["token"]
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.socket.close()

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):  # however the server closed
            async for raw in self.socket:
                frame = json.loads(raw)
                if frame["type"] == "message":
                    self.messages.append(frame["message"])
                await self.frames.put(frame)

    async def say(self, text: str, client_id: str | None = None) -> dict[str, Any]:
        """Send a message and wait for its acknowledgement."""
        client_id = client_id or f"m{next(_ids)}"
        await self.socket.send(json.dumps({"type": "message", "id": client_id, "text": text}))
        return await self.frame(
            lambda f: f["type"] in ("ack", "error") and f.get("id") == client_id
        )

    async def closed(self, timeout: float = 10) -> None:
        """Wait until the server has closed the socket."""
        assert self._reader is not None
        async with asyncio.timeout(timeout):
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._reader

    async def send_raw(self, text: str) -> None:
        await self.socket.send(text)

    async def frame(
        self, matching: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if matching(frame):
                    return frame

    async def message(
        self, matching: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        """The first message (already received or still to come) that matches."""
        for message in self.messages:
            if matching(message):
                return message
        frame = await self.frame(
            lambda f: f["type"] == "message" and matching(f["message"]), timeout
        )
        return frame["message"]
