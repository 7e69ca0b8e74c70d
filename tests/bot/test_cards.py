"""Slack's wire formats, pure: tables of (in, out)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cards import (
    ThreadReply,
    card,
    conversation_id,
    escape,
    thread_text,
    to_plain,
    to_reply,
)
from bot.roles import Card, Earlier, Line, Remembered
from bot.settings import load_routing_config

CONFIG = load_routing_config(Path(__file__).parent.parent.parent / "config.yml")
NAMES = {"U0PRIYA01": "Priya Sharma"}


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("<!channel> please", "&lt;!channel&gt; please"),
        ("hi <@U0PRIYA01>", "hi &lt;@U0PRIYA01&gt;"),
        ("<https://evil.example|your bank>", "&lt;https://evil.example|your bank&gt;"),
        ("fish & chips", "fish &amp; chips"),
        ("already &amp; escaped", "already &amp;amp; escaped"),
        ("@here and @channel stay text", "@here and @channel stay text"),
    ],
)
def test_escape(text: str, escaped: str) -> None:
    assert escape(text) == escaped


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("Thanks &amp; sorry &lt;3", "Thanks & sorry <3"),
        ("ask <@U0PRIYA01>", "ask @Priya Sharma"),
        ("ask <@U9UNKNOWN>", "ask @someone"),
        (
            "see <https://acme.example/returns|our returns page>",
            "see our returns page (https://acme.example/returns)",
        ),
        ("see <https://acme.example/returns>", "see https://acme.example/returns"),
        ("mail <mailto:help@acme.example|help@acme.example>", "mail help@acme.example"),
        ("in <#C0SUPPORT|support>", "in #support"),
        ("<!here> look", "@here look"),
    ],
)
def test_to_plain(slack: str, plain: str) -> None:
    assert to_plain(slack, NAMES) == plain


REPLY = {
    "type": "message",
    "channel": "D1",
    "user": "U1",
    "text": "hi",
    "ts": "2.0",
    "thread_ts": "1.0",
}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (REPLY, ThreadReply("D1", "1.0", "U1", "hi", "2.0")),
        ({**REPLY, "subtype": "file_share"}, ThreadReply("D1", "1.0", "U1", "hi", "2.0")),
        ({**REPLY, "thread_ts": None}, None),  # top level, not a reply
        ({**REPLY, "thread_ts": "2.0"}, None),  # the thread's parent itself
        ({**REPLY, "bot_id": "B1"}, None),  # our own posts
        ({**REPLY, "subtype": "message_changed"}, None),
        ({**REPLY, "subtype": "channel_join"}, None),
        ({**REPLY, "user": None}, None),
        ({**REPLY, "type": "reaction_added"}, None),
    ],
)
def test_to_reply(event: dict[str, Any], expected: ThreadReply | None) -> None:
    assert to_reply(event) == expected


@pytest.mark.parametrize(
    ("details", "shown"),
    [
        ({}, "*Ada*: a &lt;b&gt;"),
        ({"edited": True}, "*Ada*: (edited) a &lt;b&gt;"),
        (
            {"attachment": {"kind": "photo", "url": "https://fd.example/f/1?sig=x"}},
            "*Ada*: a &lt;b&gt;\n:paperclip: sent a photo: <https://fd.example/f/1?sig=x|open it>",
        ),
        (
            {"attachment": {"kind": "voice message (3 s)", "url": None}},
            "*Ada*: a &lt;b&gt;\n:paperclip: sent a voice message (3 s), which cannot be shown here (set FRONTDESK_PUBLIC_URL to get links to customers' files)",
        ),
    ],
)
def test_thread_text(details: dict[str, Any], shown: str) -> None:
    assert thread_text("Ada", "a <b>", details) == shown


def view(**changes: Any) -> Card:
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    fields: dict[str, Any] = {
        "conversation_id": 7, "customer": "Ada <!channel>", "channel": "the web chat", "language": "en",
        "tags": ["vip"], "intent": "billing", "confidence": 0.93, "entities": {"order_id": "12345"},
        "rule": "refunds, invoices and subscriptions", "reasons": ["Rule matched."], "employee": CONFIG.employee("priya"), "team": None,
        "transcript": [Line("Ada", "customer", "charged twice <@U1>", at), Line("Acme assistant", "bot", "Priya will answer.", at)],
        "earlier": [Earlier(at, "refund", "Tomás García", "closed", 4)],
    }  # fmt: skip
    return Card(**{**fields, **changes})


def test_the_card_shows_who_what_and_history_and_is_safe() -> None:
    summary, blocks = card(view(), CONFIG)
    text = json.dumps(blocks)
    assert summary == "New conversation about billing from Ada &lt;!channel&gt;, for Priya Sharma"
    for expected in ("Ada &lt;!channel&gt;", "`billing` (93%)", "order_id `12345`", "charged twice &lt;@U1&gt;",
                     "(bot)", "Earlier conversations", "refund, Tom\\u00e1s Garc\\u00eda, closed (4 messages)",
                     "frontdesk_close", "frontdesk_transfer", "note:"):  # fmt: skip
        assert expected in text, expected
    assert "frontdesk_take_over" not in text  # a DM: no colleagues to take over
    parsed = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    parsed += [
        e["text"] for b in blocks for e in b.get("elements", []) if e.get("type") == "mrkdwn"
    ]
    assert not [p for p in parsed if "<!channel>" in p or "<@U1>" in p]
    assert len(blocks) <= 50


def test_channel_cards_can_be_taken_over_and_closed_cards_have_no_buttons() -> None:
    assert "frontdesk_take_over" in json.dumps(card(view(), CONFIG, in_channel=True)[1])
    closed = json.dumps(card(view(status="Closed by Priya Sharma."), CONFIG)[1])
    assert "Closed by Priya Sharma." in closed
    assert "frontdesk_close" not in closed


def test_remembered_facts_are_numbered_for_forget_and_safe() -> None:
    at = datetime(2026, 11, 23, tzinfo=UTC)
    facts = [Remembered("prefers email", "Priya Sharma", at), Remembered("<!here> ok", "Sam", at)]
    text = json.dumps(card(view(remembered=facts), CONFIG)[1])
    assert (
        "*Remembered*\\n1. prefers email _(Priya Sharma, 23 Nov 2026)_\\n2. &lt;!here&gt; ok"
        in text
    )
    assert "Remembered" not in json.dumps(card(view(), CONFIG)[1])


def test_long_conversations_fit_in_a_card() -> None:
    at = datetime(2026, 11, 23, tzinfo=UTC)
    lines = [Line("Ada", "customer", "x" * 5000, at) for _ in range(60)]
    blocks = card(view(transcript=lines), CONFIG)[1]
    assert len(blocks) <= 50
    assert "35 earlier messages not shown" in json.dumps(blocks)
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"actions": [{"action_id": "frontdesk_close", "value": "12"}]}, 12),
        (
            {
                "actions": [
                    {
                        "action_id": "frontdesk_transfer",
                        "block_id": "conversation:34",
                        "selected_option": {"value": "team:billing"},
                    }
                ]
            },
            34,
        ),
        ({"actions": [{"value": "DROP TABLE"}]}, None),
        ({}, None),
    ],
)
def test_conversation_id_from_an_action(body: dict[str, Any], expected: int | None) -> None:
    assert conversation_id(body) == expected
