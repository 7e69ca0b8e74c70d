"""Employees' files for widget customers: each file in a message the widget shows gets
a link, signed and good for an hour, to `GET /widget/files/{message}/{index}`, which
fetches it from where the desk keeps it. Pictures are shown inline; anything else (and
SVG, which can carry script) is a download."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import NoResultFound
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.outbox import GiveUp, RetryLater
from bot.roles import FileSource
from bot.signed_links import SignedLinks
from bot.store import Store
from bot.store.messages import message_in_conversation
from bot.tables import Message

LIFETIME = 3600  # seconds a link works; the widget gets new ones each time it connects
_INLINE = {"image/jpeg", "image/png", "image/gif", "image/webp"}


class WidgetFiles:
    def __init__(
        self, secret: str, store: Store, source: FileSource, clock: Callable[[], datetime]
    ) -> None:
        self.signed = SignedLinks(secret, "widget-files", clock, LIFETIME)
        self.store = store
        self.source = source

    def links(self, message: Message) -> list[dict[str, Any]]:
        """The files of a message as the widget shows them, each with its link (a path
        on this server)."""
        return [
            {
                "name": file["name"],
                "type": file["type"],
                "size": file["size"],
                "inline": file["type"] in _INLINE,
                "url": f"/widget/files/{message.id}/{index}?"
                + self.signed.query(f"{message.id}:{index}"),
            }
            for index, file in enumerate(message.details.get("files") or [])
        ]

    async def download(self, request: Request) -> Response:
        """GET /widget/files/{message}/{index}?expires=...&sig=...: 403 unless signed and
        not expired; 404 for no such file; 410 once it is gone from the desk."""
        message_id, index = request.path_params["message_id"], request.path_params["index"]
        query = request.query_params
        if not self.signed.valid(
            f"{message_id}:{index}", query.get("expires", ""), query.get("sig", "")
        ):
            return PlainTextResponse("this link is not signed, or has expired", status_code=403)
        try:
            async with self.store.reading() as connection:
                message, _ = await message_in_conversation(connection, message_id)
            listed = message.details.get("files") or []
            file = listed[index]
        except (NoResultFound, IndexError):
            return PlainTextResponse("no such file", status_code=404)
        try:
            content = await self.source.fetch_file(str(file["ref"]))
        except GiveUp:
            return PlainTextResponse("the file is no longer available", status_code=410)
        except RetryLater:
            return PlainTextResponse("the file cannot be fetched now", status_code=503)
        inline = file["type"] in _INLINE
        shown, name = "inline" if inline else "attachment", quote(str(file["name"]))
        headers = {
            "Content-Disposition": f"{shown}; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "private, max-age=300",
        }
        media_type = file["type"] if inline else "application/octet-stream"
        return Response(content.data, media_type=media_type, headers=headers)
