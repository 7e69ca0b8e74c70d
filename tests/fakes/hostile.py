"""Hostile input, as an attacker or a broken client would send it: a seeded generator
of malformed, forged, oversized and deeply nested bodies for each inbound surface.
Every case is reproducible from the seed and its index."""

from __future__ import annotations

import copy
import json
import random
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.fakes.slack import SIGNING_SECRET, event_callback, sign, thread_reply

FORGED = "FORGED-do-not-store"

# Values that are the wrong type almost everywhere.
_JUNK: list[Any] = [
    None, True, 0, -1, 2**64, 1.5, "", "x", "\ud800", "\x00", [], [1, [2]], {}, {"a": {}},
    "9" * 400, -(2**63) - 1,
]  # fmt: skip


@dataclass(frozen=True)
class Request:
    """One HTTP request: body bytes and headers, and whether its credentials are right."""

    body: bytes
    headers: dict[str, str]
    forged: bool  # wrong or missing credentials: must never have an effect


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _mutate(rng: random.Random, value: Any, rounds: int = 3) -> Any:
    """A copy of a JSON value with a few parts replaced by junk, deleted, or nested."""
    value = copy.deepcopy(value)
    for _ in range(rounds):
        path = _random_path(rng, value)
        if not path:
            return copy.deepcopy(rng.choice(_JUNK))
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        choice = rng.random()
        if choice < 0.6:
            parent[last] = copy.deepcopy(rng.choice(_JUNK))
        elif choice < 0.8 and isinstance(parent, dict):
            del parent[last]
        else:
            parent[last] = json.loads(deep(rng.randint(1, 50)))
    return value


def _random_path(rng: random.Random, value: Any) -> list[Any]:
    path: list[Any] = []
    while isinstance(value, dict | list) and value and rng.random() < 0.75:
        key = rng.choice(list(value)) if isinstance(value, dict) else rng.randrange(len(value))
        path.append(key)
        value = value[key]
    return path


def _raw_bodies(rng: random.Random) -> bytes:
    """Bodies that are not the JSON anyone expects."""
    return rng.choice(
        [
            b"", b"null", b"[]", b"123", b'"text"', b"true", b"{", b"\xff\xfe\x00",
            b"{" * 5000, deep(100_000).encode(), b'{"a": "' + b"x" * 2_000_000 + b'"}',
            json.dumps({"k": "\\ud800"}).encode(), b"payload=%7B", b"payload=null",
        ]
    )  # fmt: skip


# Slack ------------------------------------------------------------------------------


def slack_requests(seed: int, count: int, thread: tuple[str, str], user: str) -> Iterator[Request]:
    """Requests to /slack/events. Forged ones are well-formed thread replies to a real
    thread; signed ones are malformed in every way we could think of."""
    rng = random.Random(seed)
    channel, thread_ts = thread
    for index in range(count):
        reply = thread_reply(channel, thread_ts, user, FORGED, ts=f"{1_700_000_000 + index}.000100")
        good = event_callback(reply)
        kind = rng.random()
        if kind < 0.3:  # forged: right shape, wrong credentials
            body = json.dumps(good)
            headers = rng.choice(
                [
                    {},
                    sign(body, secret="not-" + SIGNING_SECRET),
                    sign(body, timestamp=int(time.time()) - 3600),
                    {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
                    {"X-Slack-Request-Timestamp": str(2**70), "X-Slack-Signature": ""},
                    {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64},
                ]
            )
            yield Request(body.encode(), {"Content-Type": "application/json", **headers}, True)
            continue
        if kind < 0.4:
            raw = _raw_bodies(rng)
            yield Request(raw, {"Content-Type": "application/json", **_sign_bytes(raw)}, False)
            continue
        if kind < 0.75:
            body = json.dumps(_mutate(rng, good))
            yield Request(body.encode(), {"Content-Type": "application/json", **sign(body)}, False)
            continue
        payload = _mutate(rng, _block_action(user, channel))
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        yield Request(body.encode(), headers, False)


def _sign_bytes(raw: bytes) -> dict[str, str]:
    try:
        return sign(raw.decode())
    except UnicodeDecodeError:
        return sign("")


def _block_action(user: str, channel: str) -> dict[str, Any]:
    return {
        "type": "block_actions", "user": {"id": user, "team_id": "TACME"}, "team": {"id": "TACME"},
        "api_app_id": "AFRONT", "token": "unused", "trigger_id": "1.2.3",
        "container": {"type": "message", "channel_id": channel}, "channel": {"id": channel},
        "actions": [{"action_id": "frontdesk_transfer", "block_id": "conversation:1",
                     "selected_option": {"value": "team:billing"}, "action_ts": "1.0"}],
    }  # fmt: skip


# Telegram ---------------------------------------------------------------------------


def telegram_requests(seed: int, count: int, secret: str, chat: int) -> Iterator[Request]:
    """Requests to /telegram/webhook. Forged ones carry a real-looking message with a
    wrong secret; the rest have the secret and a broken update."""
    rng = random.Random(seed)
    for index in range(count):
        good = _update(10_000_000 + index, chat + index)  # each chat under its limit
        kind = rng.random()
        if kind < 0.3:
            headers = rng.choice([{}, {"X-Telegram-Bot-Api-Secret-Token": secret + "x"}])
            yield Request(json.dumps(good).encode(), headers, True)
            continue
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        if kind < 0.4:
            yield Request(_raw_bodies(rng), headers, False)
            continue
        if kind < 0.5:
            special = rng.choice(
                [
                    {**good, "update_id": rng.choice([2**64, -(2**63) - 1, 1.5, "7", True])},
                    {"update_id": good["update_id"], "callback_query": {"id": "1", "from": _user(chat)}},
                    {**good, "message": {**good["message"], "chat": chat}},
                    {**good, "message": {**good["message"], "text": "\x00 nul \ud800"}},
                    {**good, "message": json.loads(deep(500))},
                ]
            )  # fmt: skip
            yield Request(json.dumps(special).encode(), headers, False)
            continue
        yield Request(json.dumps(_mutate(rng, good)).encode(), headers, False)


def _user(chat: int) -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": "Mallory", "language_code": "en"}


def _update(update_id: int, chat: int) -> dict[str, Any]:
    message = {
        "message_id": update_id, "date": int(time.time()), "text": FORGED,
        "chat": {"id": chat, "type": "private", "first_name": "Mallory"}, "from": _user(chat),
    }  # fmt: skip
    return {"update_id": update_id, "message": message}


# The widget -------------------------------------------------------------------------


def widget_frames(seed: int, count: int) -> Iterator[str | bytes]:
    """Frames for an open widget socket (after the hello)."""
    rng = random.Random(seed)
    good = {"type": "message", "id": "m1", "text": "hello"}
    for index in range(count):
        kind = rng.random()
        if kind < 0.15:
            yield rng.choice([b"\x00\x01binary", b"", json.dumps(good).encode()])
        elif kind < 0.3:
            yield rng.choice(
                [
                    deep(rng.choice([100, 1000, 100_000])),
                    "{" * 10_000,
                    json.dumps({"type": "message", "id": "m1", "text": "x" * 100_000}),
                    '{"type": "message", "id": "s' + str(index) + '", "text": "lone \\ud800 surrogate"}',
                    '{"type": "message", "id": "n' + str(index) + '", "text": "nul \\u0000 byte"}',
                    "not json", "null", "[]", '"hello"',
                ]
            )  # fmt: skip
        else:
            yield json.dumps(_mutate(rng, {**good, "id": f"f{index}"}))
