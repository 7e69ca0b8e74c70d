"""Telegram, with python-telegram-bot inside our ASGI app (`updater(None)`): updates in,
by webhook or long polling, each committed before Telegram is told it arrived; messages
out as outbox jobs, split under 4,096 characters, paced per chat, 429-aware."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from telegram import Bot, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram import Message as TgMessage
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.metrics import Metrics
from bot.outbox import GiveUp, Handler, RetryLater, enqueue
from bot.relay import Relay
from bot.settings import Settings
from bot.store import Store, message_in_conversation, new_link_code
from bot.tables import (
    Contact,
    Conversation,
    Customer,
    Message,
    OutboxJob,
    TelegramUpdate,
    utcnow,
)
from routing import RoutingConfig

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_UPDATE_BYTES = 1_000_000
ALLOWED_UPDATES = ["message", "edited_message", "my_chat_member"]
_PER_CHAT_INTERVAL = 1.0  # Telegram asks for about one message a second per chat

Kind = Literal["start", "text", "edit", "attachment", "blocked"]
Send = Callable[[int], Awaitable[None]]  # one part of a message, to a chat


@dataclass(frozen=True)
class Inbound:
    """A Telegram update, as much of it as we act on."""

    kind: Kind
    chat_id: int
    message_id: int | None = None
    text: str = ""
    name: str | None = None
    language: str | None = None
    start_code: str | None = None
    attachment: str | None = None  # "photo", "voice message (12 s)", ...
    file_id: str | None = None


def to_inbound(update: Update) -> Inbound | None:
    """Pure: what an update means to us, or None for updates we do not act on."""
    if update.my_chat_member is not None:
        member = update.my_chat_member
        if member.new_chat_member.status in ("kicked", "left"):
            return Inbound("blocked", member.chat.id)
        return None
    message, edited = update.message, update.edited_message
    message = message or edited
    if message is None or message.chat.type != "private":
        return None
    user = message.from_user
    base = Inbound(
        "text",
        chat_id=message.chat.id,
        message_id=message.message_id,
        name=user.full_name if user else None,
        language=((user.language_code or "").split("-")[0] or None) if user else None,
    )
    text = message.text or ""
    if edited is not None:
        return replace(base, kind="edit", text=text or message.caption or "")
    if text == "/start" or text.startswith("/start "):
        return replace(base, kind="start", start_code=text.removeprefix("/start").strip() or None)
    if text:
        return replace(base, text=text)
    attachment, file_id = _attachment(message)
    return replace(
        base, kind="attachment", text=message.caption or "", attachment=attachment, file_id=file_id
    )


def _attachment(message: TgMessage) -> tuple[str, str | None]:
    if message.photo:
        return "photo", message.photo[-1].file_id
    if message.document:
        return f"document ({message.document.file_name or 'unnamed'})", message.document.file_id
    if message.voice:
        return f"voice message ({_seconds(message.voice)} s)", message.voice.file_id
    if message.sticker:
        return f"sticker {message.sticker.emoji or ''}".strip(), message.sticker.file_id
    for kind in ("video", "video_note", "audio", "animation"):
        if (media := getattr(message, kind)) is not None:
            return kind.replace("_", " "), media.file_id
    for kind in ("location", "contact", "poll", "venue", "dice"):
        if getattr(message, kind) is not None:
            return kind, None
    return "message Frontdesk cannot show", None


def _seconds(media: Any) -> int:
    """A duration, whether PTB gives an int (today) or a timedelta (its future)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        duration = media.duration
    return int(duration.total_seconds()) if isinstance(duration, timedelta) else int(duration)


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


class TelegramDesk:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        relay: Relay,
        config: Callable[[], RoutingConfig],
        metrics: Metrics,
    ) -> None:
        assert settings.telegram_bot_token is not None
        self.settings = settings
        self.store = store
        self.relay = relay
        self.config = config
        self.metrics = metrics
        api = settings.telegram_api_url.rstrip("/")
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token)
            .base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot")
            .updater(None)
            .build()
        )
        self.bot: Bot = self.application.bot
        self.secret = settings.telegram_webhook_secret or _derived(
            settings.telegram_bot_token, "webhook"
        )
        self._file_key = _derived(settings.telegram_bot_token, "files").encode()
        self._poller: asyncio.Task[None] | None = None
        self._last_sent: dict[int, float] = {}

    @property
    def username(self) -> str:
        return self.bot.username

    def handlers(self) -> dict[str, Handler]:
        return {"telegram.update": self.handle_update, "telegram.send": self.send}

    async def start(self) -> None:
        await self.application.initialize()  # getMe
        await self.application.start()
        if self.settings.public_url:
            url = self.settings.public_url.rstrip("/") + "/telegram/webhook"
            await self.bot.set_webhook(
                url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
            )
            log.info("telegram webhook registered", extra={"url": url})
        else:
            await self.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("telegram long polling (no FRONTDESK_PUBLIC_URL for a webhook)")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.application.stop()
        await self.application.shutdown()

    # Telegram -> us ------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """POST /telegram/webhook: 200 only once the update is committed."""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.metrics.rejected.labels("telegram", "secret").inc()
            return PlainTextResponse("wrong secret token", status_code=401)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return PlainTextResponse("update too large", status_code=413)
        try:
            payload = json.loads(body)
            update_id = payload["update_id"]
            if not isinstance(update_id, int):
                raise TypeError("update_id is not an integer")
        except (ValueError, KeyError, TypeError) as exc:
            self.metrics.rejected.labels("telegram", "malformed").inc()
            return PlainTextResponse(f"not a Telegram update: {exc}", status_code=400)
        await self.store_update(payload)
        return JSONResponse({"ok": True})

    async def store_update(self, payload: dict[str, Any]) -> bool:
        """Commit an update and the job that handles it; False if it was seen before."""
        try:
            async with self.store.session() as session:
                session.add(TelegramUpdate(update_id=payload["update_id"], payload=payload))
                enqueue(
                    session, "telegram.update", {"update_id": payload["update_id"]}, None,
                    lane=f"telegram:{_chat_of(payload)}",
                )  # fmt: skip
                await session.commit()
        except IntegrityError:
            self.metrics.duplicates.labels("telegram").inc()
            return False
        self.relay.outbox.wake()
        return True

    async def _poll(self) -> None:
        """Long polling: the offset moves past an update only after it is committed."""
        async with self.store.session() as session:
            last = (await session.exec(select(func.max(TelegramUpdate.update_id)))).one()
        offset = (last + 1) if last is not None else None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except TelegramError as exc:
                failures += 1
                delay = (
                    _retry_after(exc) if isinstance(exc, RetryAfter) else min(2.0**failures, 60.0)
                )
                log.warning(
                    "telegram getUpdates failed",
                    extra={"error": type(exc).__name__, "delay_s": delay},
                )
                await asyncio.sleep(delay)
                continue
            for update in updates:
                await self.store_update(update.to_dict())
                offset = update.update_id + 1

    async def handle_update(self, job: OutboxJob) -> None:
        async with self.store.session() as session:
            stored = await session.get(TelegramUpdate, job.payload["update_id"])
            assert stored is not None
        inbound = to_inbound(Update.de_json(stored.payload, self.bot))
        if inbound is None or inbound.kind == "blocked":
            return  # a blocked bot shows when the next send fails
        customer_id = await self._customer(inbound)
        source_id = f"{inbound.chat_id}:{inbound.message_id}"
        if inbound.kind == "start":
            await self.relay.start_chat(customer_id, "telegram", inbound.start_code, source_id)
        elif inbound.kind == "edit":
            edit_id = f"{source_id}:edit:{job.payload['update_id']}"
            edited: dict[str, Any] = {"edited": True}
            await self.relay.receive(
                customer_id, "telegram", inbound.text, edit_id, edited, triage=False
            )
        elif inbound.kind == "attachment":
            assert inbound.attachment is not None
            details = {
                "attachment": {"kind": inbound.attachment, "url": self.file_link(inbound.file_id)}
            }
            text = inbound.text or f"[{inbound.attachment}]"
            await self.relay.receive(customer_id, "telegram", text, source_id, details=details)
        else:
            await self.relay.receive(customer_id, "telegram", inbound.text, source_id)

    async def _customer(self, inbound: Inbound) -> int:
        """The customer behind a chat, made on first contact."""
        address = str(inbound.chat_id)
        query = select(Contact.customer_id).where(
            Contact.channel == "telegram", Contact.address == address
        )
        async with self.store.session() as session:
            if (customer_id := (await session.exec(query)).first()) is not None:
                return customer_id
            customer = Customer(name=inbound.name, language=inbound.language)
            session.add(customer)
            await session.flush()
            assert customer.id is not None
            session.add(Contact(customer_id=customer.id, channel="telegram", address=address))
            try:
                await session.commit()
                return customer.id
            except IntegrityError:  # another worker made it first
                await session.rollback()
                return (await session.exec(query)).one()

    async def link_url(self, customer_id: int) -> str:
        """A t.me link that, opened, links this customer's Telegram chat to them."""
        async with self.store.session() as session:
            code = await new_link_code(session, customer_id, utcnow())
        return f"https://t.me/{self.username}?start={code}"

    # Files: links employees can open from Slack, without our bot token in them.

    def file_link(self, file_id: str | None) -> str | None:
        if file_id is None or not self.settings.public_url:
            return None
        signature = hmac.new(self._file_key, file_id.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.settings.public_url.rstrip('/')}/telegram/files/{file_id}?sig={signature}"

    async def file(self, request: Request) -> Response:
        """GET /telegram/files/{file_id}?sig=...: a customer's file, fetched for Slack."""
        file_id = request.path_params["file_id"]
        expected = hmac.new(self._file_key, file_id.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(request.query_params.get("sig", "").encode(), expected.encode()):
            return PlainTextResponse("bad signature", status_code=403)
        try:
            remote = await self.bot.get_file(file_id)
            content = bytes(await remote.download_as_bytearray())
        except TelegramError as exc:
            return PlainTextResponse(f"Telegram would not give the file: {exc}", status_code=502)
        name = (remote.file_path or file_id).rsplit("/", 1)[-1]
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(content, media_type="application/octet-stream", headers=disposition)

    # us -> Telegram ------------------------------------------------------------

    async def send(self, job: OutboxJob) -> None:
        """A customer-visible message to the chat, in parts; resumes after the last
        part that was sent if an earlier attempt stopped half-way."""
        config = self.config()
        async with self.store.session() as session:
            message, conversation = await message_in_conversation(
                session, job.payload["message_id"]
            )
            chat = (
                await session.exec(
                    select(Contact.address)
                    .where(
                        Contact.customer_id == conversation.customer_id,
                        Contact.channel == "telegram",
                    )
                    .order_by(col(Contact.id).desc())
                )
            ).first()
        if chat is None:
            raise GiveUp("the customer has no Telegram chat")
        parts = self._parts(message, config)
        done = int(message.details.get("telegram_sent", 0))
        for index, send in enumerate(parts[done:], start=done):
            await self._pace(int(chat))
            try:
                await send(int(chat))
            except RetryAfter as exc:
                raise RetryLater("Telegram flood control", after=_retry_after(exc)) from exc
            except (Forbidden, BadRequest) as exc:
                await self._undeliverable(conversation, message, str(exc))
                raise GiveUp(f"Telegram refused: {exc}") from exc
            except TelegramError as exc:
                raise RetryLater(f"Telegram error: {type(exc).__name__}") from exc
            finally:
                self._last_sent[int(chat)] = time.monotonic()
            async with self.store.session() as session:
                message.details = {**message.details, "telegram_sent": index + 1}
                session.add(message)
                await session.commit()

    def _parts(self, message: Message, config: RoutingConfig) -> list[Send]:
        text = message.body
        author = message.employee_id
        if message.author == "employee" and author and config.has_employee(author):
            employee = config.employee(author)
            text = f"{employee.name} ({config.team(employee.teams[0]).name}): {text}"
        parts: list[Send] = []
        introduces = message.details.get("introduces")
        if introduces and config.has_employee(introduces) and config.employee(introduces).photo_url:
            person = config.employee(introduces)
            caption = f"{person.name}, {person.title}\nUsually answers {person.hours.describe()}"
            photo = str(person.photo_url)
            parts.append(partial(self._send_photo, photo=photo, caption=caption[:CAPTION_LIMIT]))
        keyboard = None
        if quick := message.details.get("quick_replies"):
            rows = [[KeyboardButton(label)] for label in quick]
            keyboard = ReplyKeyboardMarkup(rows, one_time_keyboard=True, resize_keyboard=True)
        chunks = split(text)
        for i, chunk in enumerate(chunks):
            markup = keyboard if i == len(chunks) - 1 else None
            parts.append(partial(self._send_text, text=chunk, markup=markup))
        return parts

    async def _send_text(self, chat: int, *, text: str, markup: ReplyKeyboardMarkup | None) -> None:
        await self.bot.send_message(chat, text, reply_markup=markup)

    async def _send_photo(self, chat: int, *, photo: str, caption: str) -> None:
        await self.bot.send_photo(chat, photo, caption=caption)

    async def _pace(self, chat: int) -> None:
        wait = self._last_sent.get(chat, 0.0) + _PER_CHAT_INTERVAL - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _undeliverable(
        self, conversation: Conversation, message: Message, reason: str
    ) -> None:
        """Tell the conversation's Slack thread that a reply did not reach the customer."""
        if message.author != "employee" or conversation.id is None:
            return
        note = f"This reply did not reach the customer on Telegram ({reason}): {message.body[:200]}"
        async with self.store.session() as session:
            enqueue(session, "slack.post", {"note": note}, conversation.id)
            await session.commit()


def _chat_of(payload: dict[str, Any]) -> object:
    """The chat an update comes from, read from the raw JSON (its order key)."""
    for key in ("message", "edited_message", "my_chat_member"):
        if isinstance(part := payload.get(key), dict):
            return (part.get("chat") or {}).get("id")
    return payload["update_id"]


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # int today, timedelta later
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _derived(token: str, purpose: str) -> str:
    """A stable secret of our own, derived from the bot token (same on every instance)."""
    return hmac.new(token.encode(), f"frontdesk-{purpose}".encode(), hashlib.sha256).hexdigest()
