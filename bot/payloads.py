"""Bodies from outside, read with bounds before anything trusts their shape: a size
limit while the body streams in, JSON nested at most MAX_DEPTH deep, and text that the
database can store (no NUL, no lone surrogate). A client that hangs up mid-body is
noted quietly, not reported as a server error."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger(__name__)

MAX_DEPTH = 32  # every payload we read (Slack, Telegram, widget, admin) nests far less
ID_LIMIT = 2**63  # an id from outside must fit our database's 64-bit integers


class Refused(Exception):
    """A body we will not read further, with the HTTP status that says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> Response:
        return PlainTextResponse(self.reason, status_code=self.status)


async def read(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it grows past `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        log.info("client hung up before sending the whole body", extra={"path": request.url.path})
        raise Refused(400, "the client hung up mid-body") from None
    return b"".join(chunks)


def parse(raw: bytes | str) -> Any:
    """JSON, with every string made storable; ValueError (naming the problem) for what
    is not JSON, not finite, or nested deeper than MAX_DEPTH."""
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {type(exc).__name__}") from None
    return _storable(value)


def text(value: str) -> str:
    """Text the database can store: NUL removed, lone surrogates replaced."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _storable(value: Any) -> Any:
    """A copy of a parsed JSON value with storable strings, walked without recursion
    (the depth is what is being checked)."""
    root: list[Any] = [value]
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(root, 0)]
    while stack:
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH}")
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            item = container[key]
            if isinstance(item, str):
                container[key] = text(item)
            elif isinstance(item, dict | list):
                stack.append((item, depth + 1))
            if isinstance(key, str) and (clean := text(key)) != key:
                assert isinstance(container, dict)
                container[clean] = container.pop(key)
    return root[0]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")
