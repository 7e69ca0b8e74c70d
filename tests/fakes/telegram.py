"""A Telegram Bot API double on 127.0.0.1: the methods Frontdesk calls, updates for long
polling, files to download, and injectable 429s (with retry_after), 403s (a blocked
bot) and 400s (a chat not found)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT_TOKEN = "123456:TEST-telegram-token"
_SENDS = ("sendMessage", "sendPhoto", "sendDocument")
BOT_USERNAME = "acme_frontdesk_bot"
FILE_BYTES = b"\x89PNG fake photo bytes"


@dataclass
class FakeTelegram:
    sent: list[dict[str, Any]] = field(default_factory=list)  # sendMessage / sendPhoto, in order
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    faults: list[tuple[str, int, int | None]] = field(
        default_factory=list
    )  # method, status, retry_after
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot
    gone: set[int] = field(default_factory=set)  # chats deleted (with their account)
    answered: list[dict[str, Any]] = field(default_factory=list)  # answerCallbackQuery
    keyboards: dict[tuple[int, int], Any] = field(default_factory=dict)  # inline, by (chat, id)
    url: str = ""
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _new: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file),
            ]
        )

    def fail_next(
        self, method: str, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        self.faults += [(method, status, retry_after)] * times

    def queue_update(self, update: dict[str, Any]) -> None:
        """For long polling: the update is handed out by getUpdates."""
        self._pending.append(update)
        self._new.set()

    def to(self, chat_id: int) -> list[dict[str, Any]]:
        return [s for s in self.sent if int(s["chat_id"]) == chat_id]

    async def _handle(self, request: Request) -> Response:
        if request.path_params["token"] != BOT_TOKEN:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        args = await _arguments(request)
        self.calls.append((method, args))
        for i, (failing, status, retry_after) in enumerate(self.faults):
            if failing == method:
                del self.faults[i]
                return _error(
                    status,
                    "Too Many Requests: retry later" if status == 429 else "Bad Gateway",
                    retry_after,
                )
        chat = args.get("chat_id")
        if method in _SENDS and chat is not None and int(chat) in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if method in _SENDS and chat is not None and int(chat) in self.gone:
            return _error(400, "Bad Request: chat not found")
        return JSONResponse({"ok": True, "result": await self._perform(method, args)})

    async def _perform(self, method: str, args: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Acme", "username": BOT_USERNAME,
                    "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}  # fmt: skip
        if method == "setWebhook":
            self.webhook = args
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getUpdates":
            offset = int(args.get("offset") or 0)
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if not self._pending:
                self._new.clear()
                try:
                    await asyncio.wait_for(
                        self._new.wait(), timeout=min(float(args.get("timeout") or 0), 1.0)
                    )
                except TimeoutError:
                    return []
            return list(self._pending)
        if method in _SENDS:
            self.sent.append({"method": method, "at": time.monotonic(), **args})
            chat = {"id": int(args["chat_id"]), "type": "private", "first_name": "Ada"}
            result: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": chat,
            }
            self.sent[-1]["message_id"] = result["message_id"]
            markup = args.get("reply_markup") or {}
            if "inline_keyboard" in markup:
                self.keyboards[chat["id"], result["message_id"]] = markup
                result["reply_markup"] = markup
            if method == "sendMessage":
                result["text"] = args["text"]
            elif method == "sendDocument":
                result["document"] = {"file_id": "sent-doc", "file_unique_id": "d",
                                      "file_name": args.get("filename")}  # fmt: skip
                result["caption"] = args.get("caption")
            else:
                result["photo"] = [
                    {"file_id": "sent-photo", "file_unique_id": "u", "width": 1, "height": 1}
                ]
                result["caption"] = args.get("caption")
            return result
        if method == "answerCallbackQuery":
            if not args.get("callback_query_id"):
                raise AssertionError("answerCallbackQuery without callback_query_id")
            self.answered.append(args)
            return True
        if method == "editMessageReplyMarkup":
            where = (int(args["chat_id"]), int(args["message_id"]))
            if where not in self.keyboards:
                raise AssertionError(f"no message with an inline keyboard at {where}")
            self.keyboards[where] = args.get("reply_markup")  # absent: the keyboard is gone
            chat = {"id": where[0], "type": "private", "first_name": "Ada"}
            return {"message_id": where[1], "date": int(time.time()), "chat": chat, "text": "…"}
        if method == "getFile":
            return {
                "file_id": args["file_id"],
                "file_unique_id": "uniq",
                "file_size": len(FILE_BYTES),
                "file_path": f"photos/{args['file_id']}.jpg",
            }
        raise AssertionError(f"the double does not know {method}")

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != BOT_TOKEN:
            return Response(status_code=404)
        return Response(FILE_BYTES, media_type="image/jpeg")


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


async def _arguments(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        args.update(json.loads(await request.body() or b"{}"))
    elif content_type.startswith("multipart/form-data"):  # files: their name and bytes
        args.update(_multipart(content_type, await request.body()))
    else:
        args.update(dict(urllib.parse.parse_qsl((await request.body()).decode())))
    for key in ("reply_markup", "allowed_updates"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """A multipart/form-data body (PTB's uploads), read with the standard library."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    found: dict[str, Any] = {}
    for part in BytesParser(policy=policy.HTTP).parsebytes(head + body).iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(data, bytes)
        filename = part.get_filename()
        found[name] = {"filename": filename, "bytes": data} if filename else data.decode()
    return found


# Updates, as Telegram sends them ----------------------------------------------

_update_ids = itertools.count(5000)
_message_ids = itertools.count(1)
USER = {
    "id": 42,
    "is_bot": False,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "language_code": "en",
}


def _message(chat_id: int, **content: Any) -> dict[str, Any]:
    return {
        "message_id": next(_message_ids), "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
        "from": {**USER, "id": chat_id}, **content,
    }  # fmt: skip


def update(chat_id: int, update_id: int | None = None, **content: Any) -> dict[str, Any]:
    return {"update_id": update_id or next(_update_ids), "message": _message(chat_id, **content)}


def text(chat_id: int, words: str, update_id: int | None = None) -> dict[str, Any]:
    return update(chat_id, update_id, text=words)


def photo(chat_id: int, caption: str | None = None) -> dict[str, Any]:
    sizes = [{"file_id": f"small-{chat_id}", "file_unique_id": "s", "width": 90, "height": 90},
             {"file_id": f"photo-{chat_id}", "file_unique_id": "p", "width": 800, "height": 800}]  # fmt: skip
    return update(chat_id, photo=sizes, **({"caption": caption} if caption else {}))


def edited(original: dict[str, Any], words: str) -> dict[str, Any]:
    message = {**original["message"], "text": words, "edit_date": int(time.time())}
    return {"update_id": next(_update_ids), "edited_message": message}


def pressed(chat_id: int, sent: dict[str, Any], data: str) -> dict[str, Any]:
    """A callback_query update: the customer pressed the inline button carrying `data`
    under the message `sent` (as the double recorded it)."""
    message = {
        "message_id": sent["message_id"], "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
        "from": {"id": 123456, "is_bot": True, "first_name": "Acme", "username": BOT_USERNAME},
        "text": sent.get("text", ""), "reply_markup": sent.get("reply_markup"),
    }  # fmt: skip
    query = {"id": f"cq{next(_update_ids)}", "from": {**USER, "id": chat_id}, "message": message,
             "chat_instance": f"ci{chat_id}", "data": data}  # fmt: skip
    return {"update_id": next(_update_ids), "callback_query": query}
