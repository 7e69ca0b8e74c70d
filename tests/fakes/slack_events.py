"""Slack's side of what it sends an app: signed event callbacks, block actions and slash
commands, POSTed to the app as Slack would (re-exported by tests/fakes/slack.py)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from typing import Any

import httpx

SIGNING_SECRET = "test-signing-secret"
BOT_USER = "UBOTFRONT"


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


_event_ids = itertools.count(1)


def thread_reply(
    channel: str, thread_ts: str, user: str, text: str, ts: str | None = None
) -> dict[str, Any]:
    return {
        "type": "message", "channel": channel, "user": user, "text": text,
        "ts": ts or f"{time.time():.6f}", "thread_ts": thread_ts, "channel_type": "im" if channel.startswith("D") else "channel",
    }  # fmt: skip


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "unused", "team_id": "TACME", "api_app_id": "AFRONT", "type": "event_callback",
        "event": event, "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(time.time()),
        "authorizations": [{"team_id": "TACME", "user_id": BOT_USER, "is_bot": True}],
    }  # fmt: skip


async def send_event(
    app_url: str,
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    headers: dict[str, str] | None = None,
    retry_num: int | None = None,
) -> httpx.Response:
    """POST an event callback to the app as Slack would, signed unless `headers` say otherwise."""
    body = json.dumps(event_callback(event, event_id))
    sent = {"Content-Type": "application/json", **(headers if headers is not None else sign(body))}
    if retry_num is not None:
        sent |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{app_url}/slack/events", content=body, headers=sent)


async def press(
    app_url: str,
    user: str,
    action: dict[str, Any],
    channel: str = "D0",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A block action (a button or menu in a card), as Slack posts it: a signed form."""
    payload = {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "TACME"},
        "team": {"id": "TACME"}, "api_app_id": "AFRONT", "token": "unused", "trigger_id": "1.2.3",
        "container": {"type": "message", "channel_id": channel}, "channel": {"id": channel},
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }  # fmt: skip
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    sent = {
        "Content-Type": "application/x-www-form-urlencoded",
        **(headers if headers is not None else sign(body)),
    }
    async with httpx.AsyncClient() as client:
        return await client.post(f"{app_url}/slack/events", content=body, headers=sent)


async def slash_command(
    app_url: str, user: str, text: str, command: str = "/frontdesk"
) -> httpx.Response:
    """A slash command, as Slack posts it: a signed form of fields (no `payload`)."""
    body = urllib.parse.urlencode(
        {"token": "unused", "team_id": "TACME", "team_domain": "acme", "channel_id": "D0",
         "channel_name": "directmessage", "user_id": user, "user_name": user.lower(),
         "command": command, "text": text, "api_app_id": "AFRONT", "trigger_id": "1.2.3",
         "response_url": "https://hooks.slack.invalid/commands/1"}
    )  # fmt: skip
    sent = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{app_url}/slack/events", content=body, headers=sent)
