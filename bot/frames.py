"""The frames of the widget's WebSocket, read and written: JSON objects with storable
text (bot/payloads.py), a binary frame read as nothing, a refusal said, then closed."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from bot import payloads
from bot.visitors import Refusal


async def receive(websocket: WebSocket) -> str | None:
    """The next frame's text; None for a binary frame (the widget sends none)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text: str | None = message.get("text")
    return text


def parse(text: str | None) -> dict[str, Any] | None:
    """A frame as a JSON object with storable strings, or None."""
    if text is None:
        return None
    try:
        frame = payloads.parse(text)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


async def refuse(websocket: WebSocket, refusal: Refusal) -> None:
    """An error frame that says why, then the socket closed (policy violation)."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await send(websocket, {"type": "error", "code": refusal.code, "message": refusal.message})
        await websocket.close(code=1008)


async def send(websocket: WebSocket, frame: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(frame, ensure_ascii=False))
