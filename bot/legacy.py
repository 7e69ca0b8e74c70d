"""Outbox rows written by version 0.1, before jobs were typed and the core stopped
naming vendors: translated to today's kinds and payloads, so that a queue left behind
by an upgrade still runs."""

from __future__ import annotations

from typing import Any

# Each 0.1 kind and the kinds it becomes (so that it is claimed where those are handled).
OLD_KINDS = {
    "slack.card": ("card.open",),
    "slack.post": ("thread.post", "thread.note"),
    "slack.update": ("card.update",),
    "telegram.send": ("customer.deliver",),
    "telegram.update": ("inbound.handle",),
}


def translate(kind: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Today's kind and payload for a 0.1 row; rows of today pass through unchanged."""
    if kind == "slack.card":
        return "card.open", {"assignment_id": payload["assignment_id"], "upto": payload["upto"]}
    if kind == "slack.post":
        if "note" in payload:
            return "thread.note", {"text": payload["note"]}
        return "thread.post", {"message_id": payload["message_id"]}
    if kind == "slack.update":
        if "closed_by" in payload:
            return "card.update", {"change": "closed", "by": payload["closed_by"]}
        if "transferred_to" in payload:
            return "card.update", {
                "change": "transferred",
                "by": payload["by"],
                "to": payload["transferred_to"],
                "at": payload["thread"],
            }
        return "card.update", {"change": "taken_over", "to": payload["taken_over_by"]}
    if kind == "telegram.send":
        return "customer.deliver", {"message_id": payload["message_id"]}
    if kind == "telegram.update":
        return "inbound.handle", {"channel": "telegram", "key": str(payload["update_id"])}
    return kind, payload
