"""The web chat widget: `GET /widget.js`, the demo page at `GET /`, and the WebSocket
the widget talks over.

Protocol (JSON frames). The widget opens with `{"type": "hello", "token": <or null>,
"last_seen": <message id>}`; the server answers `welcome` (with the visitor's token,
issued on first contact and never put in a URL) and then every message after
`last_seen`. The widget sends `{"type": "message", "id": <its own id>, "text": ...}`
and resends it until it gets `{"type": "ack", "id": ..., "message_id": ...}`, which
comes only after the message is committed; a resent id is stored once. New messages
are pushed as `{"type": "message", "message": {...}}`; an employee's reply counts as
delivered once pushed. README.md lists every frame (ratings and files too)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import math
import re
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from bot import frames, payloads, receipts
from bot.conversations import Conversations
from bot.customers import Customers
from bot.hub import Recent, Wake, WidgetHub
from bot.ratings import SCORES, Ratings
from bot.settings import Settings
from bot.visitors import NAME, Refusal, Visitors
from bot.widget_messages import PAGE, WidgetMessages

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
TITLE = "the web chat"
MAX_FRAME = 64 * 1024  # bytes; the longest message limits allow fits, escaped
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HELLO_TIMEOUT = 15.0
_POLL = 30.0  # a safety net: news of new messages normally wakes a socket at once
_REMEMBERED = 2000  # ids a socket remembers sending, so that news of them is not resent
_MAX_ERRORS = 20


class Widget:
    """The web chat: a customer channel (see roles.CustomerChannel) whose customers
    read the store over a WebSocket rather than being sent each message."""

    name, title = NAME, TITLE

    def __init__(
        self, settings: Settings, customers: Customers, *, notice: str | None = None
    ) -> None:
        self.settings = settings
        self.customers = customers
        self.conversations: Conversations = customers.conversations
        self.store = customers.store
        self.metrics = customers.metrics
        self.notice = notice  # shown on the demo page, e.g. that no desk is connected
        self.hub = WidgetHub()
        self.visitors = Visitors(settings, customers)
        self.ratings = Ratings(self.conversations)
        self.receipts = receipts.Receipts(self.conversations)
        self.messages = WidgetMessages(self.conversations)
        self.conversations.outbox.news.subscribe("customer", self.hub.heard)
        self._script = (STATIC / "widget.js").read_bytes()
        self._page = (STATIC / "demo.html").read_text(encoding="utf-8")

    async def script(self, request: Request) -> Response:
        return Response(
            self._script,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    async def demo(self, request: Request) -> HTMLResponse:
        config = self.conversations.config()
        notice = ""
        if self.notice:
            notice = f'<p class="notice" role="status">{html.escape(self.notice)}</p>'
        page = self._page.replace("{{company}}", html.escape(config.company.name))
        page = page.replace("{{notice}}", notice)
        return HTMLResponse(
            page,
            headers={
                "Content-Security-Policy": "default-src 'self'; img-src * data:; "
                "style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def socket(self, websocket: WebSocket) -> None:
        if not self._origin_allowed(websocket):
            self.metrics.rejected.labels("widget", "origin").inc()
            await websocket.close(code=1008)  # before accept: the handshake gets 403
            return
        await websocket.accept()
        address = websocket.client.host if websocket.client else "unknown"
        try:
            self.visitors.enter(address)
        except Refusal as refusal:
            await frames.refuse(websocket, refusal)
            return
        try:
            await self._serve(websocket, address)
        finally:
            self.visitors.leave(address)

    async def _serve(self, websocket: WebSocket, address: str) -> None:
        try:
            async with asyncio.timeout(_HELLO_TIMEOUT):
                frame = frames.parse(await frames.receive(websocket))
            if frame is None or frame.get("type") != "hello":
                await frames.refuse(websocket, Refusal("hello_expected", "Say hello first."))
                return
            try:
                customer_id, token = await self.visitors.admit(
                    frame.get("token"), frame.get("identity"), address
                )
            except Refusal as refusal:
                await frames.refuse(websocket, refusal)
                return
        except (TimeoutError, WebSocketDisconnect):
            return  # gone before the welcome
        try:
            await frames.send(websocket, {"type": "welcome", "token": token, **self._about()})
            last_seen = frame.get("last_seen")
            known = token == frame.get("token")  # else a new visitor: everything is new
            cursor = 0
            if known and isinstance(last_seen, int) and 0 < last_seen < payloads.ID_LIMIT:
                cursor = last_seen
            if cursor:  # receipts the instance that showed them may not have written
                await receipts.shown_up_to(self.conversations, customer_id, cursor)
            await Connection(self, websocket, customer_id, token, cursor, address).run()
        except WebSocketDisconnect:
            return  # gone
        finally:
            self.visitors.release(token)

    def _origin_allowed(self, websocket: WebSocket) -> bool:
        origin = websocket.headers.get("origin")
        if not origin:
            return False
        allowed = self.settings.allowed_origins
        if not allowed:
            scheme = "https" if websocket.url.scheme == "wss" else "http"
            allowed = (f"{scheme}://{websocket.headers.get('host', '')}",)
        return origin.rstrip("/") in allowed

    def _about(self) -> dict[str, Any]:
        config = self.conversations.config()
        return {
            "company": config.company.name,
            "bot": {"name": config.company.bot_name, "title": "Bot"},
            "max_text": config.limits.max_message_chars,
            "telegram": "telegram" in self.conversations.channels.inviting(),
        }


class Connection:
    """One open widget socket: reads the visitor's frames, pushes what is new."""

    def __init__(
        self,
        widget: Widget,
        websocket: WebSocket,
        customer_id: int,
        token: str,
        cursor: int,
        address: str,
    ) -> None:
        self.widget = widget
        self.websocket = websocket
        self.customer_id = customer_id
        self.token = token
        self.address = address
        self.cursor = cursor  # every message up to here was shown
        self.shown = Recent(_REMEMBERED)  # and these, on either side of it
        self.errors = 0
        self._sending = asyncio.Lock()  # the reader (acks) and the pusher both send

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._sending:
            await frames.send(self.websocket, frame)

    async def run(self) -> None:
        wake = self.widget.hub.subscribe(self.customer_id)
        self.widget.metrics.widget_connections.inc()
        pusher = asyncio.create_task(self._push(wake))
        pusher.add_done_callback(self._stopped_pushing)
        try:
            await self._read()
        except WebSocketDisconnect:
            pass
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await pusher
            self.widget.hub.unsubscribe(self.customer_id, wake)
            self.widget.metrics.widget_connections.dec()

    def _stopped_pushing(self, pusher: asyncio.Task[None]) -> None:
        """A socket that can no longer push is closed (1011), so that the widget
        reconnects and catches up, rather than waiting in silence. A push that met a
        socket already closing (the visitor left, or was refused) is no failure."""
        if pusher.cancelled() or (error := pusher.exception()) is None:
            return
        closing = WebSocketState.DISCONNECTED in (
            self.websocket.application_state,
            self.websocket.client_state,
        )
        if closing or isinstance(error, WebSocketDisconnect):
            return
        log.error("a widget socket stopped pushing", exc_info=error)
        self._closing = asyncio.ensure_future(self.websocket.close(code=1011))

    async def _read(self) -> None:
        while True:
            frame = frames.parse(await frames.receive(self.websocket))
            if frame is None:
                await self._refuse(
                    None,
                    "bad_frame",
                    f"Frames are JSON objects, nested at most {payloads.MAX_DEPTH} deep.",
                )
            elif frame.get("type") == "message":
                await self._message(frame)
            elif frame.get("type") == "link_telegram":
                await self._link_telegram()
            elif frame.get("type") == "rating":
                await self._rating(frame)
            elif frame.get("type") != "ping":
                await self._refuse(None, "unknown_type", "Unknown frame type.")

    async def _message(self, frame: dict[str, Any]) -> None:
        client_id, text = frame.get("id"), frame.get("text")
        if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
            await self._refuse(
                None, "bad_id", "A message needs an id of 1-64 letters, digits, - or _."
            )
            return
        if not isinstance(text, str) or not text.strip():
            await self._refuse(client_id, "empty", "The message is empty.")
            return
        limit = self.widget.conversations.config().limits.max_message_chars
        if len(text) > limit:
            too_long = f"Messages can be at most {limit} characters."
            await self._refuse(client_id, "too_long", too_long)
            return
        if wait := self.widget.visitors.admit_message(self.customer_id, self.address):
            await self._refuse(
                client_id, "rate_limited", f"Too many messages: wait {math.ceil(wait)} s.", wait
            )
            return
        received = await self.widget.customers.receive(
            self.customer_id, NAME, text.strip(), source_id=f"{self.customer_id}:{client_id}"
        )
        message = received.message
        await self.send({"type": "ack", "id": client_id, "message_id": message.id})
        if not received.duplicate and message.id is not None:
            # The visitor's own message, shown without reading back what was just stored.
            self.shown.add(message.id)
            await self.send({"type": "message", "message": self.widget.messages.frame(message)})

    async def _rating(self, frame: dict[str, Any]) -> None:
        asked, score, comment = frame.get("message_id"), frame.get("score"), frame.get("comment")
        if (
            not isinstance(asked, int)
            or not (score is None or (type(score) is int and score in SCORES))
            or not (comment is None or isinstance(comment, str))
        ):
            why = "A rating names the message that asked, a score of 1-5 (null skips) and text."
            await self._refuse(None, "bad_rating", why)
            return
        outcome = await self.widget.ratings.rate(self.customer_id, asked, score, comment)
        await self.send({"type": "rated", "message_id": asked, "score": score, "outcome": outcome})

    async def _link_telegram(self) -> None:
        if "telegram" not in self.widget.conversations.channels.inviting():
            await self._refuse(None, "no_telegram", "This company is not on Telegram.")
            return
        url = await self.widget.customers.invitation(self.customer_id, "telegram")
        await self.send({"type": "telegram_link", "url": url})

    async def _refuse(
        self, client_id: str | None, code: str, message: str, retry_after: float | None = None
    ) -> None:
        self.errors += 1
        self.widget.metrics.rejected.labels("widget", code).inc()
        frame: dict[str, Any] = {"type": "error", "id": client_id, "code": code, "message": message}
        if retry_after is not None:
            frame["retry_after"] = round(retry_after, 1)
        await self.send(frame)
        if self.errors > _MAX_ERRORS:
            if retry_after is not None:  # flooding: it may come back when it may send
                self.widget.visitors.bench(self.token, retry_after)
            await self.websocket.close(code=1008)
            raise WebSocketDisconnect(1008)

    async def _push(self, wake: Wake) -> None:
        await self._show_new()
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
            # cancellation that ends this task if the event fires at the same moment,
            # and the socket's handler then never returns (seen as a hung shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_POLL):
                    await wake.event.wait()
            announced = wake.take()
            # Not only ids after the cursor: on PostgreSQL a message can commit after
            # one with a higher id was shown.
            unseen = sorted(i for i in announced if i not in self.shown)
            if not announced:
                await self._show_new()  # the poll: read everything after the cursor
            elif unseen:
                await self._show(unseen)

    async def _show(self, ids: list[int]) -> None:
        """Send the messages news named, read by their ids: not the visitor's own
        messages since the cursor, which they have (a busy chat has many)."""
        frames = await self.widget.messages.these(self.customer_id, ids)
        for frame in frames:
            await self.send({"type": "message", "message": frame})
        for shown in ids:
            self.shown.add(shown)
        self._delivered(frames)

    async def _show_new(self) -> None:
        """Send what was stored after the cursor and not shown yet, a page at a time."""
        while True:
            page = await self.widget.messages.after(self.customer_id, self.cursor)
            sent = [frame for frame in page if frame["id"] not in self.shown]
            for frame in page:
                if frame["id"] not in self.shown:
                    await self.send({"type": "message", "message": frame})
                    self.shown.add(frame["id"])
                self.cursor = frame["id"]
            self._delivered(sent)
            if len(page) < PAGE:
                return

    def _delivered(self, frames: list[dict[str, Any]]) -> None:
        """Employees' replies pushed to this socket are delivered (a receipt, once)."""
        if replies := [frame["id"] for frame in frames if frame["kind"] == "employee"]:
            self.widget.receipts.shown(replies)
