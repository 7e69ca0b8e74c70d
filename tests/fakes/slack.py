"""A Slack Web API double on 127.0.0.1 (the methods Frontdesk calls), which records what
it was sent and can answer 429, 5xx or lose a response; and (from slack_events.py) a
sender of signed events."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.slack_events import (
    BOT_USER,
    SIGNING_SECRET,
    event_callback,
    press,
    send_event,
    sign,
    slash_command,
    thread_reply,
)

__all__ = [
    "APP_TOKEN", "BOT_TOKEN", "BOT_USER", "SIGNING_SECRET", "FakeSlack", "Fault",
    "event_callback", "press", "send_event", "sign", "slash_command", "thread_reply",
]  # fmt: skip

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"


@dataclass
class Fault:
    status: int
    retry_after: int | None = None
    perform: bool = False  # do the work, then fail: a lost response
    error: str | None = None  # an "ok": false answer, as Slack gives for a bad request


@dataclass
class FakeSlack:
    posts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # id -> real name
    url: str = ""  # set once it is served
    sockets: list[WebSocket] = field(default_factory=list)  # Socket Mode connections
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope id -> ack
    edited: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # by (channel, ts)
    reactions: list[dict[str, Any]] = field(default_factory=list)  # channel, timestamp, name
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id: name, title, data
    deleted: list[dict[str, Any]] = field(default_factory=list)  # chat.delete and files.delete
    away: set[str] = field(default_factory=set)  # users.getPresence says "away"
    dnd: dict[str, dict[str, Any]] = field(default_factory=dict)  # dnd.info's answer, by user
    slow: dict[str, float] = field(default_factory=dict)  # method -> s before it answers
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        perform: bool = False,
        error: str | None = None,
    ) -> None:
        fault = Fault(status, retry_after, perform, error)
        self.faults.setdefault(method, []).extend(fault for _ in range(times))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._handle, methods=["GET", "POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                Route("/files-pri/{file_id}/{name}", self._download),
                WebSocketRoute("/socket-mode", self._socket_mode),
                Route("/photos/{name}", _photo),  # employees' photos, where tests point them
            ]
        )

    def _new_ts(self) -> str:
        """As Slack's: the posting time in epoch seconds, unique per message."""
        return f"{int(time.time())}.{next(self._ts):06d}"

    def posts_in(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        return [
            p for p in self.posts if p["channel"] == channel and p.get("thread_ts") == thread_ts
        ]

    async def _handle(self, request: Request) -> Response:
        method = request.path_params["method"]
        self.calls.append(method)
        args = await _arguments(request)
        token = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        fault = self.faults.get(method, []).pop(0) if self.faults.get(method) else None
        if fault is not None and not fault.perform:
            return _failure(fault)
        result = self._perform(method, args)
        await asyncio.sleep(self.slow.get(method, 0.0))  # done, but the answer is late
        if fault is not None:
            return _failure(fault)
        return JSONResponse(result)

    async def _upload(self, request: Request) -> Response:
        """The upload URL files.getUploadURLExternal gave: the file's bytes, raw."""
        file = self.files.get(request.path_params["file_id"])
        if file is None:
            return Response("no such upload", status_code=404)
        file["data"] = await request.body()
        return Response(f"OK - {len(file['data'])}", media_type="text/plain")

    def add_file(self, name: str, data: bytes, mimetype: str) -> dict[str, Any]:
        """A file an employee shared, as a message event's `files` lists it."""
        file_id = f"F{next(self._ts):08d}"
        self.files[file_id] = {"id": file_id, "name": name, "title": name, "data": data,
                               "mimetype": mimetype, "length": len(data)}  # fmt: skip
        return self._file_object(file_id)

    def _file_object(self, file_id: str) -> dict[str, Any]:
        file = self.files[file_id]
        download = f"{self.url}/files-pri/{file_id}/{urllib.parse.quote(file['name'])}"
        return {"id": file_id, "name": file["name"], "title": file.get("title", file["name"]),
                "mimetype": file.get("mimetype", "application/octet-stream"),
                "size": len(file["data"] or b""), "url_private": download,
                "url_private_download": download, "mode": "hosted"}  # fmt: skip

    async def _download(self, request: Request) -> Response:
        """A file's private URL: only with the bot token, as Slack's."""
        if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            return Response("<html>sign in</html>", status_code=302, headers={"Location": "/"})
        file = self.files.get(request.path_params["file_id"])
        if file is None:
            return Response("not found", status_code=404)
        return Response(file["data"], media_type=file.get("mimetype", "application/octet-stream"))

    async def push(self, kind: str, payload: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        """Send a Socket Mode envelope (events_api or interactive); return the app's ack."""
        envelope_id = f"env-{next(self._ts)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind == "interactive", "retry_attempt": 0, "retry_reason": ""}  # fmt: skip
        async with asyncio.timeout(timeout):
            while not self.sockets:
                await asyncio.sleep(0.05)
            await self.sockets[-1].send_text(json.dumps(envelope))
            while envelope_id not in self.acks:
                await asyncio.sleep(0.02)
        return self.acks[envelope_id]

    async def _socket_mode(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(
            json.dumps(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "AFRONT"}}
            )
        )
        self.sockets.append(websocket)
        try:
            while True:
                frame = json.loads(await websocket.receive_text())
                if "envelope_id" in frame:
                    self.acks[frame["envelope_id"]] = frame
        except WebSocketDisconnect:
            self.sockets.remove(websocket)

    def _perform(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http", "ws", 1) + "/socket-mode"}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": "BFRONT",
                "team_id": "TACME",
                "user": "frontdesk",
                "team": "Acme",
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args["users"])}}
        if method == "chat.postMessage":
            ts = self._new_ts()
            channel = str(args["channel"])
            if channel.startswith(("U", "W")):  # a user's id: the app's DM with them
                channel = "D" + channel
            post = {**args, "channel": channel, "ts": ts}
            if isinstance(post.get("metadata"), str):
                post["metadata"] = json.loads(post["metadata"])
            self.posts.append(post)
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts},
            }
        if method == "chat.update":
            where = (args["channel"], args["ts"])
            if not any((p["channel"], p["ts"]) == where for p in self.posts):
                return {"ok": False, "error": "message_not_found"}
            self.updates.append(args)
            self.edited[where] = args
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        if method == "chat.delete":
            return self._delete_message(args)
        if method == "files.delete":
            return self._delete_file(args)
        if method == "users.info":
            user = str(args["user"])
            name = self.users.get(user, "Someone Else")
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": name.lower(),
                    "real_name": name,
                    "profile": {"real_name": name},
                },
            }
        if method in ("conversations.history", "conversations.replies"):
            return self._history(args)
        if method == "files.getUploadURLExternal":
            if not args.get("filename") or not int(args.get("length") or 0):
                return {"ok": False, "error": "missing_argument"}
            file_id = f"F{next(self._ts):08d}"
            self.files[file_id] = {"id": file_id, "name": args["filename"], "data": None,
                                   "length": int(args["length"])}  # fmt: skip
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method == "files.info":
            if args.get("file") not in self.files:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": self._file_object(str(args["file"]))}
        if method == "users.getPresence":
            return {"ok": True, "presence": "away" if args.get("user") in self.away else "active"}
        if method == "dnd.info":
            return {"ok": True, "dnd_enabled": False, **self.dnd.get(str(args.get("user")), {})}
        if method == "reactions.add":
            if not all(args.get(k) for k in ("channel", "timestamp", "name")):
                return {"ok": False, "error": "no_item_specified"}
            reaction = {k: args[k] for k in ("channel", "timestamp", "name")}
            if reaction in self.reactions:  # Slack's answer to the same emoji twice
                return {"ok": False, "error": "already_reacted"}
            self.reactions.append(reaction)
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        """The files uploaded, shared in the channel (a thread) as one message."""
        shared = []
        for given in args["files"]:
            file = self.files.get(given["id"])
            if file is None or file["data"] is None or len(file["data"]) != file["length"]:
                return {"ok": False, "error": "file_not_found"}
            file["title"] = given.get("title") or file["name"]
            file["user"] = BOT_USER  # the uploader: only it (or an admin) may delete it
            shared.append({"id": file["id"], "name": file["name"], "title": file["title"],
                           "user": BOT_USER})  # fmt: skip
        ts = self._new_ts()
        self.posts.append({"channel": args["channel_id"], "thread_ts": args.get("thread_ts"),
                           "ts": ts, "text": args.get("initial_comment", ""), "files": shared,
                           "user": BOT_USER})  # fmt: skip
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}

    def _delete_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.delete: the app's own message goes (as Slack's, its thread's replies stay)."""
        where = (args.get("channel"), args.get("ts"))
        found = [p for p in self.posts if (p["channel"], p["ts"]) == where]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        self.posts.remove(found[0])
        self.deleted.append({"method": "chat.delete", "channel": where[0], "ts": where[1]})
        return {"ok": True, "channel": where[0], "ts": where[1]}

    def _delete_file(self, args: dict[str, Any]) -> dict[str, Any]:
        """files.delete: a bot token deletes only what it uploaded; a message that shared
        the file lists it as a tombstone from then on."""
        file = self.files.get(str(args.get("file")))
        if file is None:
            return {"ok": False, "error": "file_not_found"}
        if file.get("user") != BOT_USER:
            return {"ok": False, "error": "cant_delete_file"}
        del self.files[file["id"]]
        self.deleted.append({"method": "files.delete", "file": file["id"]})
        return {"ok": True}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's messages, or a thread's (its parent first), as edited; metadata
        only when asked for; pages of `limit` with an opaque cursor, as Slack does."""
        thread = args.get("ts")
        if thread is not None and not any(p["ts"] == thread for p in self.posts):
            return {"ok": False, "error": "thread_not_found"}
        metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        found = []
        for p in self.posts:
            if p["channel"] != args["channel"]:
                continue
            if thread is not None and thread not in (p["ts"], p.get("thread_ts")):
                continue
            now = {**p, **self.edited.get((p["channel"], p["ts"]), {})}
            message = {"type": "message", "ts": p["ts"], "text": now.get("text")}
            if p.get("user", BOT_USER) == BOT_USER:  # the app's (a test may add others')
                message["bot_id"] = "BFRONT"
            if p.get("thread_ts"):
                message["thread_ts"] = p["thread_ts"]
            if metadata and p.get("metadata"):
                message["metadata"] = p["metadata"]
            if p.get("user"):
                message["user"] = p["user"]
            if p.get("files"):
                message["files"] = [
                    f if f["id"] in self.files else {"id": f["id"], "mode": "tombstone"}
                    for f in p["files"]
                ]
            found.append(message)
        start = (
            int(base64.b64decode(args["cursor"]).decode().removeprefix("offset:"))
            if args.get("cursor")
            else 0
        )
        limit = int(args.get("limit") or 1000)
        more = start + limit < len(found)
        after = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "messages": found[start : start + limit], "has_more": more,
                "response_metadata": {"next_cursor": after}}  # fmt: skip


# A 2x2 PNG: enough for a browser to decode and lay out.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d494844520000000200000002080600000072b60d240000001149444154"
    "789c63304e3bf31f8419600c00508e0991207c36c50000000049454e44ae426082"
)


async def _photo(request: Request) -> Response:
    return Response(_PNG, media_type="image/png")


def _failure(fault: Fault) -> Response:
    if fault.error is not None:
        return JSONResponse({"ok": False, "error": fault.error}, status_code=fault.status)
    if fault.status == 429:
        return JSONResponse(
            {"ok": False, "error": "ratelimited"},
            status_code=429,
            headers={"Retry-After": str(fault.retry_after or 1)},
        )
    return Response("upstream trouble", status_code=fault.status, media_type="text/plain")


async def _arguments(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json") and body:
        args.update(json.loads(body))
    elif body:
        args.update(dict(urllib.parse.parse_qsl(body.decode())))
    for key in ("blocks", "metadata", "files"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args
