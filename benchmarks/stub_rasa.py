"""A stand-in for the Rasa server that answers `POST /model/parse` at once from a lookup
table, so that a benchmark measures Frontdesk's own share of the work; or, with
`--hang`, a server that accepts connections and never answers.

Run as its own process (`python -m benchmarks.stub_rasa --port P [--hang]`) so that its
CPU is not counted as the app's."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

# The bench's texts (benchmarks/parsing.py) with what the real model makes of them. A
# text that merely starts with one of these (the bench appends markers) gets its answer.
TABLE: dict[str, tuple[str, float]] = {
    "where is my order 12345": ("order_status", 0.99),
    "I was charged twice for my subscription this month": ("billing", 0.97),
    "hi": ("greet", 0.99),
    "can I talk to a real person please": ("human_handoff", 0.98),
    "the app keeps crashing when I open my basket": ("technical_support", 0.96),
    "I forgot my password and the reset email never arrives": ("account_access", 0.97),
    "please cancel my Acme Plus membership": ("cancel_subscription", 0.98),
    "do you sell gift cards for businesses?": ("sales", 0.93),
    "the courier was incredibly rude and left the parcel in the rain": ("complaint", 0.91),
    "what's the weather like in Lisbon tomorrow": ("out_of_scope", 0.95),
    "I want a refund for order 98765, the chair arrived broken": ("refund", 0.97),
    "thanks, that's all, bye": ("goodbye", 0.98),
}
UNKNOWN = ("out_of_scope", 0.9)
_ORDER = re.compile(r"\b\d{5,}\b")
_BY_LENGTH = sorted(TABLE, key=len, reverse=True)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def parse(text: str) -> dict[str, Any]:
    """A `/model/parse` answer in Rasa 3.6's shape."""
    known = next((k for k in _BY_LENGTH if text.startswith(k)), None)
    intent, confidence = TABLE[known] if known else UNKNOWN
    entities = [
        {"entity": "order_id", "value": m.group(), "start": m.start(), "end": m.end(),
         "extractor": "RegexEntityExtractor"}
        for m in _ORDER.finditer(text)
    ]  # fmt: skip
    others = [i for i, _ in dict.fromkeys(TABLE.values()) if i != intent][:9]
    rest = (1.0 - confidence) / len(others)
    ranking = [{"name": intent, "confidence": confidence}]
    ranking += [{"name": name, "confidence": rest} for name in others]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities,
        "intent_ranking": ranking,
    }


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app: the stub must cost as little CPU as the bench can make it."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        chunk = await receive()
        body += chunk.get("body", b"")
        if not chunk.get("more_body"):
            break
    if scope["path"] == "/model/parse" and scope["method"] == "POST":
        status, answer = 200, parse(str(json.loads(body)["text"]))
    elif scope["path"] == "/status":
        status, answer = 200, {"model_file": "stub.tar.gz", "fingerprint": {}}
    else:
        status, answer = 404, {"error": "not found"}
    payload = json.dumps(answer).encode()
    length = str(len(payload)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", length)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def hang(port: int) -> None:
    """Accept every connection, read what comes, never answer."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hang", action="store_true", help="accept, never answer")
    args = parser.parse_args()
    if args.hang:
        asyncio.run(hang(args.port))
    else:
        uvicorn.run(
            app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
            lifespan="off", backlog=1024,
        )  # fmt: skip


if __name__ == "__main__":
    main()
