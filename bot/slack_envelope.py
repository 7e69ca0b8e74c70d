"""The shape of what Slack posts to /slack/events, checked before bolt sees it: bolt's
request parsing indexes into the body wherever Slack would put an object, a list or an
id, and raises on anything else. Only the fields bolt or Frontdesk read are checked;
the rest passes as Slack sent it."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bot import payloads


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    _never_null: ClassVar[tuple[str, ...]] = ()  # bolt reads them with .get(key, {})

    @model_validator(mode="before")
    @classmethod
    def _present_or_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(
            key in data and data[key] is None for key in cls._never_null
        ):
            raise ValueError(f"one of {cls._never_null} is null")
        return data


class Reference(_Part):
    """A team, user, channel or enterprise given as an object rather than an id."""

    id: str | None = None
    team_id: str | None = None


class Authorization(_Part):
    enterprise_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    is_bot: bool | None = None
    is_enterprise_install: bool | None = None


class Event(_Part):
    _never_null = ("tokens", "function")
    type: str
    subtype: str | None = None
    channel: str | Reference | None = None
    user: str | Reference | None = None
    team: str | Reference | None = None
    enterprise: str | Reference | None = None
    text: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    item: dict[str, Any] | None = None
    tokens: dict[str, Any] | None = None
    function: dict[str, Any] | None = None


class Option(_Part):
    value: str


class Action(_Part):
    action_id: str
    block_id: str | None = None
    value: str | None = None
    type: str | None = None
    selected_option: Option | None = None


class Envelope(_Part):
    _never_null = ("event", "actions", "view")
    type: str | None = None
    token: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    api_app_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    trigger_id: str | None = None
    event_id: str | None = None
    challenge: str | None = None
    is_enterprise_install: bool | None = None
    team: str | Reference | None = None
    enterprise: str | Reference | None = None
    user: str | Reference | None = None
    channel: str | Reference | None = None
    authorizations: list[Authorization] | None = None
    event: Event | None = None
    container: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    view: dict[str, Any] | None = None
    actions: list[Action] | None = None


def readable(body: bytes, content_type: str) -> bytes | None:
    """A signed request's body as bolt may read it, or None if it is not an envelope:
    a JSON object, or a form whose `payload` (a button press) is one, re-encoded with
    storable text; other forms (Slack's SSL check) pass as they are."""
    try:
        if content_type.startswith("application/json"):
            return _encoded(payloads.parse(body))
        form = urllib.parse.parse_qs(body.decode(), strict_parsing=False)
        if "payload" not in form and form:
            return body
        payload = _encoded(payloads.parse(form.get("payload", [""])[0]))
    except (ValueError, UnicodeDecodeError):
        return None
    if payload is None:
        return None
    return urllib.parse.urlencode({"payload": payload}).encode()


def actor(body: dict[str, Any]) -> str | None:
    """The Slack user who pressed a button, from a checked envelope."""
    user = body.get("user")
    return user.get("id") if isinstance(user, dict) else user


def chosen(body: dict[str, Any]) -> str | None:
    """The value of the option a menu press chose, from a checked envelope."""
    actions = body.get("actions") or [{}]
    return (actions[0].get("selected_option") or {}).get("value")


def _encoded(value: object) -> bytes | None:
    try:
        Envelope.model_validate(value)
    except ValidationError:
        return None
    return json.dumps(value, ensure_ascii=False).encode()
