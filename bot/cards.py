"""Slack wire formats, pure: escaping customer text, reading employee text, the
conversation card's blocks, and turning Slack events into our own values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.roles import Card, Line, SharedFile
from routing import RoutingConfig, Target
from routing.intents import intents_to

CLOSE, TAKE_OVER, TRANSFER = "frontdesk_close", "frontdesk_take_over", "frontdesk_transfer"
_SECTION_LIMIT = 2900  # Slack allows 3000 characters in a section
_TRANSCRIPT_LIMIT = 25  # messages shown in a card; Slack allows 50 blocks
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


@dataclass(frozen=True)
class ThreadReply:
    """Someone wrote in a Slack thread: the only Slack message we act on."""

    channel: str
    thread_ts: str
    user: str
    text: str
    ts: str
    files: tuple[SharedFile, ...] = ()  # shared with the message (subtype file_share)


def to_reply(event: Mapping[str, Any]) -> ThreadReply | None:
    """A human's message in a thread, or None for anything else (bots, edits, joins,
    top-level messages)."""
    if event.get("type") != "message" or event.get("bot_id"):
        return None
    if event.get("subtype") not in (None, "file_share", "thread_broadcast"):
        return None
    channel, user = event.get("channel"), event.get("user")
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if not all(isinstance(v, str) and v for v in (channel, user, thread_ts, ts)) or thread_ts == ts:
        return None  # a user or channel given as an object is not a thread reply
    return ThreadReply(
        str(channel), str(thread_ts), str(user), str(event.get("text") or ""), str(ts),
        tuple(_shared(f) for f in event.get("files") or () if isinstance(f, dict) and f.get("id")),
    )  # fmt: skip


def _shared(file: Mapping[str, Any]) -> SharedFile:
    """A file in a message event; a Slack Connect file carries only its id (and is then
    refused, its type unknown)."""
    size = file.get("size")
    return SharedFile(
        str(file["id"]),
        str(file.get("name") or file.get("title") or file["id"]),
        str(file.get("mimetype") or "application/octet-stream"),
        size if isinstance(size, int) else 0,
    )


def escape(text: str) -> str:
    """Customer text for Slack: `<!channel>`, `<@U123>` and links become inert text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def thread_text(customer: str, body: str, details: Mapping[str, Any]) -> str:
    """A customer's message as posted in the thread: escaped, with what it carried."""
    return f"*{escape(customer)}*: {content(body, details)}"


def content(body: str, details: Mapping[str, Any]) -> str:
    """A stored message's text for Slack (escaped), marked if it was an edit, with a
    link to what it carried."""
    text = ("(edited) " if details.get("edited") else "") + escape(body)
    if attachment := details.get("attachment"):
        kind = escape(str(attachment.get("kind", "a file")))
        if attachment.get("url"):
            text += f"\n:paperclip: sent a {kind}: <{attachment['url']}|open it>"
        else:
            text += (
                f"\n:paperclip: sent a {kind}, which cannot be shown here "
                "(set FRONTDESK_PUBLIC_URL to get links to customers' files)"
            )
    return text


def to_plain(text: str, names: Mapping[str, str]) -> str:
    """An employee's Slack message as plain text for the customer: mentions become
    names, links their label and address, entities characters."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "@" + names.get(target[1:], label or "someone")
        if target.startswith("#"):
            return "#" + (label or "channel")
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        address = target.removeprefix("mailto:")
        return f"{label} ({address})" if label and label != address else address

    plain = _LINK.sub(link, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def card(
    view: Card, config: RoutingConfig, *, in_channel: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """A conversation's card: notification text and blocks. In a team channel
    (`in_channel`) colleagues get a Take over button."""
    topic = view.intent.replace("_", " ") if view.intent else "a question"
    # Plain text in the header; Slack parses the notification text, so it is escaped.
    summary = f"New conversation about {topic} from {view.customer}, for {view.employee.name}"
    vouched = f"✓ verified by the site{f' ({escape(view.email)})' if view.email else ''}"
    who = [
        f"*{escape(view.customer)}* wrote in {view.channel}",
        vouched if view.verified else "unverified",
    ]
    if view.language:
        who.append(f"language {view.language}")
    if view.tags:
        who.append("tags " + ", ".join(escape(t) for t in view.tags))
    understood = "NLU unavailable or unsure"
    if view.intent:
        understood = f"`{view.intent}` ({view.confidence or 0:.0%})"
    if view.entities:
        understood += " · " + ", ".join(f"{k} `{escape(v)}`" for k, v in view.entities.items())
    routed = f"Rule *{escape(view.rule)}*" if view.rule else "Fallback (no rule matched)"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary[:150]}},
        _section(" · ".join(who)),
        _context(
            f"Bot understood: {understood}\n{routed}: " + " ".join(escape(r) for r in view.reasons)
        ),
        {"type": "divider"},
    ]
    if view.remembered:
        facts = "\n".join(
            f"{n}. {escape(f.text)} _({escape(f.by)}, {f.at:%d %b %Y})_"
            for n, f in enumerate(view.remembered, 1)
        )
        blocks += [_section(f"*Remembered*\n{facts}"), {"type": "divider"}]
    shown = view.transcript[-_TRANSCRIPT_LIMIT:]
    if len(view.transcript) > len(shown):
        blocks.append(_context(f"{len(view.transcript) - len(shown)} earlier messages not shown"))
    blocks += [_section(_line(line)) for line in shown]
    if view.earlier:
        history = "\n".join(
            f"• {c.started:%d %b %Y}: {escape((c.intent or 'general').replace('_', ' '))}, "
            f"{escape(c.employee or 'unassigned')}, {c.status} ({c.messages} messages)"
            for c in view.earlier
        )
        blocks += [{"type": "divider"}, _section(f"*Earlier conversations*\n{history}")]
    else:
        blocks += [{"type": "divider"}, _context("First conversation with this customer.")]
    if view.status:
        blocks.append(_context(escape(view.status)))
    else:
        blocks.append(_actions(view, config, in_channel))
        blocks.append(
            _context(
                "Reply in this thread to answer. Start with `note:` to keep a message internal, "
                "`remember:` to keep a fact for this customer's next cards, `forget: 1` to drop "
                "one."
            )
        )
    return escape(summary), blocks


def _actions(view: Card, config: RoutingConfig, in_channel: bool) -> dict[str, Any]:
    value = str(view.conversation_id)
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": CLOSE,
            "text": _plain("Close"),
            "value": value,
            "style": "danger",
        },
    ]
    if in_channel:
        elements.append(
            {"type": "button", "action_id": TAKE_OVER, "text": _plain("Take over"), "value": value}
        )
    # Slack allows 100 options in a group.
    teams = _team_options(config)[:100]
    people = [
        {"text": _plain(e.name[:75]), "value": f"employee:{e.id}"} for e in config.employees[:100]
    ]
    elements.append(
        {
            "type": "static_select",
            "action_id": TRANSFER,
            "placeholder": _plain("Transfer to…"),
            "option_groups": [
                {"label": _plain("Teams"), "options": teams},
                {"label": _plain("People"), "options": people},
            ],
        }
    )
    return {"type": "actions", "block_id": f"conversation:{value}", "elements": elements}


def _team_options(config: RoutingConfig) -> list[dict[str, Any]]:
    """Each team; after a team the rules send several intents to, one option per intent
    ("Billing: A refund or return"), so that the transfer says what the conversation
    turned out to be about (bot/suggestions.py)."""
    options = []
    for team in config.teams:
        options.append({"text": _plain(team.name[:75]), "value": f"team:{team.id}"})
        intents = intents_to(config, Target(team=team.id))
        for intent in intents if len(intents) > 1 else ():
            topic = config.triage.topics.get(intent) or intent.replace("_", " ")
            label = f"{team.name}: {topic}"[:75]
            options.append({"text": _plain(label), "value": f"team:{team.id}:{intent}"})
    return options


def to_transfer(value: str, config: RoutingConfig) -> tuple[Target, str | None] | None:
    """A choice in the transfer menu: where to, and the intent picked with the team, if
    any; None for a team or person no longer in the config (or a forged value)."""
    kind, _, rest = value.partition(":")
    name, _, intent = rest.partition(":")
    if kind == "team" and config.has_team(name):
        return Target(team=name), intent or None
    if kind == "employee" and config.has_employee(name) and not intent:
        return Target(employee=name), None
    return None


def conversation_id(body: Mapping[str, Any]) -> int | None:
    """The conversation a block action is about (buttons carry it as their value,
    the transfer menu in its block id)."""
    actions = body.get("actions") or [{}]
    action = actions[0]
    raw = action.get("value") or str(action.get("block_id", "")).removeprefix("conversation:")
    return int(raw) if str(raw).isdigit() else None


def _line(line: Line) -> str:
    label = {"note": " (internal note)", "bot": " (bot)"}.get(line.kind, "")
    text = content(line.text, line.details)
    if len(text) > _SECTION_LIMIT:
        text = text[:_SECTION_LIMIT] + " …(cut; the whole message is in Frontdesk)"
    return f"*{escape(line.author)}*{label} · {line.at:%d %b %H:%M} UTC\n{text}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}
