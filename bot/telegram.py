"""Telegram, with python-telegram-bot inside our ASGI app (`updater(None)`): updates in,
by webhook or long polling, each committed before Telegram is told it arrived; messages
out as outbox jobs, split under 4,096 characters, paced per chat, 429-aware."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from telegram import Bot, Update
from telegram import Message as TgMessage
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot import payloads
from bot import telegram_parts as outgoing
from bot.customers import Customers
from bot.jobs import HandleInbound, inbound_lane
from bot.outbox import RetryLater
from bot.pacing import Pacer
from bot.roles import Outgoing, Progress, Undeliverable
from bot.settings import Settings
from bot.store import queue
from bot.telegram_files import TelegramFiles, derived
from bot.telegram_limits import ChatLimits, tell
from bot.telegram_ratings import TelegramRatings
from bot.telegram_refusals import explained

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1_000_000
ALLOWED_UPDATES = ["message", "edited_message", "my_chat_member", "callback_query"]
_PER_CHAT_PER_SECOND = 1.0  # Telegram asks for about one message a second per chat
NAME, TITLE = "telegram", "Telegram"

Kind = Literal["start", "text", "edit", "attachment", "blocked", "button"]


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
    query: str | None = None  # a pressed button's callback query (its data is `text`)


def to_inbound(update: Update) -> Inbound | None:
    """Pure: what an update means to us, or None for updates we do not act on."""
    if update.my_chat_member is not None:
        member = update.my_chat_member
        if member.new_chat_member.status in ("kicked", "left"):
            return Inbound("blocked", member.chat.id)
        return None
    if (query := update.callback_query) is not None:  # a button under our message
        pressed = query.message
        if pressed is None or pressed.chat.type != "private":
            return None
        return Inbound("button", pressed.chat.id, pressed.message_id, query.data or "",
                       query=query.id)  # fmt: skip
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


class TelegramChannel:
    """Telegram as a customer channel (see roles): it sends each message, keeps raw
    updates in the inbox before acting on them, and invites customers with t.me links."""

    name, title = NAME, TITLE

    def __init__(self, settings: Settings, customers: Customers) -> None:
        assert settings.telegram_bot_token is not None
        self.settings = settings
        self.customers = customers
        self.outbox = customers.conversations.outbox
        self.metrics = customers.metrics
        self.store = customers.store
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
        self.secret = settings.telegram_webhook_secret or derived(
            settings.telegram_bot_token, "webhook"
        )
        self.files = TelegramFiles(self.bot, settings, self.outbox.clock)
        self.ratings = TelegramRatings(self.bot, customers.conversations)
        self._poller: asyncio.Task[None] | None = None
        self.pacer = Pacer(_PER_CHAT_PER_SECOND)
        self.limits = ChatLimits(lambda: customers.conversations.config().limits, self.metrics)

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

    def invitation(self, code: str) -> str:
        """A t.me link that, opened, links the customer's Telegram chat to them."""
        return f"https://t.me/{self.bot.username}?start={code}"

    # Telegram -> us ------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """POST /telegram/webhook: 200 only once the update is committed. An update
        with the right secret that PTB cannot read is kept as rejected (for admins to
        see) and acknowledged, so that Telegram does not send it again."""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.metrics.rejected.labels("telegram", "secret").inc()
            return PlainTextResponse("wrong secret token", status_code=401)
        try:
            payload = payloads.parse(await payloads.read(request, MAX_UPDATE_BYTES))
            key = _update_key(payload)
        except payloads.Refused as refused:
            return refused.response()
        except ValueError as exc:
            self.metrics.rejected.labels("telegram", "malformed").inc()
            return PlainTextResponse(f"not a Telegram update: {exc}", status_code=400)
        problem = _unreadable(payload, self.bot)
        if problem is not None:
            self.metrics.rejected.labels("telegram", "unreadable").inc()
            log.warning("telegram update rejected", extra={"update": key, "problem": problem})
        await self.take(payload, problem)
        return JSONResponse({"ok": True})

    async def take(self, payload: dict[str, Any], unreadable: str | None = None) -> bool:
        """Store an update, rejected if PTB cannot read it or its chat is over a limit
        (then the chat is told why, once a minute for each limit)."""
        over = None
        if unreadable is None:
            over = self.limits.judge(str(_chat_of(payload)), payload)
        rejected = unreadable or (over.reason if over else None)
        return await self.store_update(payload, rejected, over.notice if over else None)

    async def store_update(
        self, payload: dict[str, Any], rejected: str | None = None, notice: str | None = None
    ) -> bool:
        """Commit an update and the job that handles it (none for a rejected update, but
        the `notice` that tells the chat why, if any); False if it was seen before."""
        key = str(payload["update_id"])
        async with self.outbox.transaction() as tx:
            now, sender = self.outbox.clock(), _sender(payload)
            if not await queue.store_inbound(
                tx.connection, NAME, key, payload, now, rejected, sender
            ):
                self.metrics.duplicates.labels(NAME).inc()
                return False
            if rejected is None:  # one chat's updates in order
                lane = inbound_lane(NAME, str(_chat_of(payload)))
                await tx.enqueue(HandleInbound(NAME, key), conversation_id=None, lane=lane)
            elif notice is not None and sender is not None:
                inbound = to_inbound(Update.de_json(payload, self.bot))  # readable: judged
                if inbound is not None and inbound.kind != "blocked":
                    conversations = self.customers.conversations
                    await tell(tx, conversations, sender, notice, name=inbound.name,
                               language=inbound.language)  # fmt: skip
        return True

    async def _poll(self) -> None:
        """Long polling: the offset moves past an update only after it is committed."""
        async with self.store.reading() as connection:
            last = await queue.last_inbound(connection, NAME)
        offset = int(last) + 1 if last is not None else None
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
                await self.take(update.to_dict())
                offset = update.update_id + 1

    async def handle_inbound(self, payload: dict[str, Any]) -> None:
        """A stored update, acted on: the customer's message goes to the core."""
        inbound = to_inbound(Update.de_json(payload, self.bot))
        if inbound is None or inbound.kind == "blocked":
            return  # a blocked bot shows when the next send fails
        customers = self.customers
        customer_id = await customers.identify(
            NAME, str(inbound.chat_id), name=inbound.name, language=inbound.language
        )
        source_id = f"{inbound.chat_id}:{inbound.message_id}"
        if inbound.kind == "start":
            await customers.start(customer_id, NAME, inbound.start_code, source_id)
        elif inbound.kind == "button":
            await self.ratings.pressed(customer_id, inbound)
        elif inbound.kind == "edit":
            edit_id = f"{source_id}:edit:{payload['update_id']}"
            edited: dict[str, Any] = {"edited": True}
            await customers.receive(customer_id, NAME, inbound.text, edit_id, edited, triage=False)
        elif inbound.kind == "attachment":
            assert inbound.attachment is not None
            link = self.files.link(inbound.file_id)  # and the file, for the desk to show
            details = {
                "attachment": {"kind": inbound.attachment, "url": link, "file": inbound.file_id}
            }
            text = inbound.text or f"[{inbound.attachment}]"
            await customers.receive(customer_id, NAME, text, source_id, details=details)
        elif not await self.ratings.commented(customer_id, inbound):  # a rating's comment
            await customers.receive(customer_id, NAME, inbound.text, source_id)

    # us -> Telegram ------------------------------------------------------------

    async def deliver(self, address: str, message: Outgoing, sent: int, progress: Progress) -> None:
        """A message to the chat, in parts; resumes after the last part that was sent
        if an earlier attempt stopped half-way."""
        chat = int(address)
        parts = outgoing.parts(self.bot, message)
        for index, send in enumerate(parts[sent:], start=sent):
            await self.pacer.wait(address)
            try:
                await send(chat)
            except RetryAfter as exc:
                raise RetryLater("Telegram flood control", after=_retry_after(exc)) from exc
            except (Forbidden, BadRequest) as exc:
                raise Undeliverable(explained(exc)) from exc
            except TelegramError as exc:
                raise RetryLater(f"Telegram error: {type(exc).__name__}") from exc
            if index + 1 < len(parts):  # the last part ends the job: nothing to resume
                await progress(index + 1)


def _update_key(payload: object) -> int:
    """An update's id, which must fit the 64 bits Telegram and our database give it."""
    if not isinstance(payload, dict):
        raise ValueError("an update is a JSON object")
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise ValueError("update_id is not an integer")
    if not 0 <= update_id < payloads.ID_LIMIT:
        raise ValueError("update_id is out of range")
    return update_id


def _unreadable(payload: dict[str, Any], bot: Bot) -> str | None:
    """Why PTB cannot read an update, or None if it can: decided once, at the door,
    so that a broken update never becomes a job retried for ever."""
    try:
        to_inbound(Update.de_json(payload, bot))
    except Exception as exc:
        return f"{type(exc).__name__} while reading the update"
    return None


def _chat_of(payload: dict[str, Any]) -> object:
    """The chat an update comes from, read from the raw JSON (its order key)."""
    return _sender(payload) or payload["update_id"]


def _sender(payload: dict[str, Any]) -> str | None:
    """The chat an update comes from, as its customer's contact address, if it has one."""
    for key in ("message", "edited_message", "my_chat_member", "callback_query"):
        if isinstance(part := payload.get(key), dict):
            if key == "callback_query":  # the chat of the message whose button was pressed
                part = message if isinstance(message := part.get("message"), dict) else {}
            chat = part.get("chat")  # anything, in an update that is to be rejected
            found = chat.get("id") if isinstance(chat, dict) else None
            return str(found) if isinstance(found, int | str) else None
    return None


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # int today, timedelta later
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
