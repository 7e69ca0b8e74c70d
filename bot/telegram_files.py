"""Customers' Telegram files: fetched for the desk to show (roles.FileSource), and for
employees following a link on the desk: links signed with a key derived from the bot
token, good for LIFETIME, fetched from the Bot API only when followed."""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import Bot
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.outbox import GiveUp, RetryLater
from bot.roles import FileContent
from bot.settings import Settings
from bot.signed_links import SignedLinks

# The link is the employees' fallback when the desk would not take the file itself, so it
# outlives a conversation by far; after that a file is asked for again.
LIFETIME = 30 * 24 * 3600  # seconds


class TelegramFiles:
    """Customers' files, for employees following a link on the desk: the links are
    signed, expire, and carry no bot token."""

    def __init__(self, bot: Bot, settings: Settings, clock: Callable[[], datetime]) -> None:
        assert settings.telegram_bot_token is not None
        self.bot = bot
        self.public_url = settings.public_url
        self.signed = SignedLinks(settings.telegram_bot_token, "files", clock, LIFETIME)

    def link(self, file_id: str | None) -> str | None:
        if file_id is None or not self.public_url:
            return None
        query = self.signed.query(file_id)
        return f"{self.public_url.rstrip('/')}/telegram/files/{file_id}?{query}"

    async def download(self, request: Request) -> Response:
        """GET /telegram/files/{file_id}?expires=...&sig=...: a customer's file, fetched
        for employees; 403 unless signed and not expired."""
        file_id, query = request.path_params["file_id"], request.query_params
        if not self.signed.valid(file_id, query.get("expires", ""), query.get("sig", "")):
            return PlainTextResponse("this link is not signed, or has expired", status_code=403)
        try:
            remote = await self.bot.get_file(file_id)
            content = bytes(await remote.download_as_bytearray())
        except TelegramError as exc:
            return PlainTextResponse(f"Telegram would not give the file: {exc}", status_code=502)
        name = (remote.file_path or file_id).rsplit("/", 1)[-1]
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(content, media_type="application/octet-stream", headers=disposition)

    async def fetch_file(self, reference: str) -> FileContent:
        """A customer's file by its file_id. The Bot API gives files up to 20 MB; a
        bigger one (or one gone) is refused for good."""
        try:
            remote = await self.bot.get_file(reference)
            content = bytes(await remote.download_as_bytearray())
        except BadRequest as exc:
            raise GiveUp(f"Telegram will not give the file: {exc}") from exc
        except RetryAfter as exc:
            raise RetryLater("Telegram flood control", after=30.0) from exc
        except TelegramError as exc:
            raise RetryLater(f"Telegram error: {type(exc).__name__}") from exc
        name = (remote.file_path or reference).rsplit("/", 1)[-1]
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return FileContent(name, kind, content)


def derived(token: str, purpose: str) -> str:
    """A stable secret of our own, derived from the bot token (same on every instance)."""
    return hmac.new(token.encode(), f"frontdesk-{purpose}".encode(), hashlib.sha256).hexdigest()
