"""End to end through real HTTP: a widget visitor (WebSocket), the real app, the Rasa
double (the real Rasa server for the happy path), and the Slack Web API double
receiving cards and sending signed events."""

import json
import time
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from bot.tables import Conversation, Message, OutboxJob
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.slack import FakeSlack, press, send_event, sign, thread_reply
from tests.fakes.visitor import Visitor

CHARGED_TWICE = "I was charged twice for my subscription this month"
BILLING = {"U0PRIYA01": "Priya Sharma", "U0TOMAS01": "Tomás García"}


def cards(slack: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]


async def one_card(slack: FakeSlack) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return cards(slack)

    return (await eventually(found))[0]  # type: ignore[index]


async def stored(frontdesk: Frontdesk, *where: Any) -> list[Message]:
    async with frontdesk.store.session() as session:
        return list(
            (await session.exec(select(Message).where(*where).order_by(col(Message.id)))).all()
        )


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card["blocks"], ensure_ascii=False)


async def test_a_visitor_reaches_a_named_employee_and_hears_back(
    frontdesk_with_rasa: Frontdesk, slack: FakeSlack
) -> None:
    frontdesk = frontdesk_with_rasa
    async with Visitor(frontdesk.url) as visitor:
        ack = await visitor.say(CHARGED_TWICE)
        assert ack["type"] == "ack"
        intro = await visitor.message(lambda m: "introduces" in m)
        assert "a bot" in (await visitor.message(lambda m: m["kind"] == "bot"))["text"]
        person = intro["introduces"]
        assert person["name"] in BILLING.values()
        assert person["title"]
        assert person["photo_url"].startswith("https://")
        assert f"{person['name']} ({person['title']}) will answer you here" in intro["text"]

        card = await one_card(slack)
        employee = next(user for user, name in BILLING.items() if name == person["name"])
        assert card["channel"] == f"D{employee}"  # the employee's DM with the app
        # Posted to the employee's id, which Slack answers with the DM: none opened.
        assert "conversations.open" not in slack.calls
        shown = card_text(card)
        assert CHARGED_TWICE in shown
        assert "the web chat" in shown
        assert "First conversation with this customer" in shown

        reply = thread_reply(
            card["channel"],
            card["ts"],
            employee,
            "Sorry about that! I've refunded the second charge &amp; emailed you.",
        )
        assert (await send_event(frontdesk.url, reply)).status_code == 200
        answer = await visitor.message(lambda m: m["kind"] == "employee")
        assert answer["text"] == "Sorry about that! I've refunded the second charge & emailed you."
        assert answer["author"]["name"] == person["name"]
        assert answer["author"]["title"] == person["title"]
        assert answer["author"]["photo_url"] == person["photo_url"]


async def test_later_messages_go_into_the_thread_escaped(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        card = await one_card(slack)
        await visitor.say("<!channel> hey @here <@U0SAMRI01> <https://evil.example|click>")

        async def in_thread() -> list[dict[str, Any]]:
            return slack.posts_in(card["channel"], card["ts"])

        posted = (await eventually(in_thread))[0]  # type: ignore[index]
        assert "&lt;!channel&gt;" in posted["text"]
        assert "&lt;@U0SAMRI01&gt;" in posted["text"]
        assert "<!channel>" not in posted["text"]
        assert "<@" not in posted["text"]


async def test_only_the_assigned_employees_replies_reach_the_customer(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        card = await one_card(slack)
        assigned = card["channel"][1:]
        colleague = "U0SAMRI01"
        for user, text in [
            (colleague, "I think it's a known bug"),
            (assigned, "note: checking with finance first"),
        ]:
            assert (
                await send_event(
                    frontdesk.url, thread_reply(card["channel"], card["ts"], user, text)
                )
            ).status_code == 200
        await send_event(
            frontdesk.url,
            thread_reply(card["channel"], card["ts"], assigned, "Found it, refunded."),
        )
        await visitor.message(lambda m: m["kind"] == "employee")
        employee_messages = [m["text"] for m in visitor.messages if m["kind"] == "employee"]
        assert employee_messages == ["Found it, refunded."]
        notes = await stored(frontdesk, Message.author == "note")
        assert [n.body for n in notes] == [
            "I think it's a known bug",
            "checking with finance first",
        ]


async def test_a_reply_that_beats_its_cards_commit_still_reaches_the_customer(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    """Slack has the card before the app has stored its thread (the answer to the post
    is slow): an employee who replies at once is not dropped as a stranger's thread."""
    slack.slow["chat.postMessage"] = 1.0
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        card = await one_card(slack)
        reply = thread_reply(card["channel"], card["ts"], card["channel"][1:], "Right away!")
        assert (await send_event(frontdesk.url, reply)).status_code == 200
        answer = await visitor.message(lambda m: m["kind"] == "employee")
        assert answer["text"] == "Right away!"


async def test_a_returning_visitor_goes_back_to_the_same_person(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        first = await one_card(slack)
        employee = first["channel"][1:]
        assert (
            await press(
                frontdesk.url,
                employee,
                {"action_id": "frontdesk_close", "value": "1", "type": "button"},
            )
        ).status_code == 200
        await visitor.message(lambda m: "closed this conversation" in m["text"])
        token = visitor.token
    async with Visitor(frontdesk.url, token=token) as again:
        await again.message(lambda m: m["text"] == CHARGED_TWICE)  # the history, sent first
        await again.say("I have another question about a payment on my invoice")
        welcome = await again.message(lambda m: "Welcome back" in m["text"])
        assert welcome["introduces"]["name"] == BILLING[employee]

        async def second() -> bool:
            return len(cards(slack)) == 2

        await eventually(second)
        card = cards(slack)[1]
        assert card["channel"] == f"D{employee}"
        assert "Earlier conversations" in card_text(card)


async def test_a_429_delays_the_card_without_losing_or_repeating_it(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", 429, retry_after=1)
    started = time.monotonic()
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        await one_card(slack)
    assert time.monotonic() - started >= 1.0
    assert len(cards(slack)) == 1
    assert slack.calls.count("chat.postMessage") == 2


async def test_a_lost_response_is_not_posted_twice(frontdesk: Frontdesk, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", 503, perform=True)  # Slack posted it, we never heard
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)

        async def done() -> bool:
            jobs = await jobs_of(frontdesk, "card.open")
            return bool(jobs) and jobs[0].status == "done"

        await eventually(done)
    assert len(cards(slack)) == 1
    assert "conversations.history" in slack.calls


async def test_server_errors_are_retried_with_backoff(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", 500, times=2)
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        await one_card(slack)
    job = (await jobs_of(frontdesk, "card.open"))[0]
    assert job.attempts == 3
    assert len(cards(slack)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        "stale",
    ],
    ids=["unsigned", "forged", "stale"],
)
async def test_unsigned_forged_and_stale_events_change_nothing(
    frontdesk: Frontdesk, slack: FakeSlack, headers: dict[str, str] | str
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        card = await one_card(slack)
        reply = thread_reply(
            card["channel"], card["ts"], card["channel"][1:], "You should not see this"
        )
        if headers == "stale":
            body = json.dumps({"type": "event_callback", "event": reply, "event_id": "EvStale"})
            response = await send_event(
                frontdesk.url, reply, headers=sign(body, timestamp=int(time.time()) - 600)
            )
        else:
            assert isinstance(headers, dict)
            response = await send_event(frontdesk.url, reply, headers=headers)
        assert response.status_code == 401
        assert await stored(frontdesk, Message.source == "desk") == []
        assert not [m for m in visitor.messages if m["kind"] == "employee"]


async def test_a_retried_event_is_handled_once(frontdesk: Frontdesk, slack: FakeSlack) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        card = await one_card(slack)
        reply = thread_reply(
            card["channel"], card["ts"], card["channel"][1:], "Refunded!", ts="1700000099.000001"
        )
        for retry in (None, 1, 2):
            response = await send_event(frontdesk.url, reply, event_id="EvSame", retry_num=retry)
            assert response.status_code == 200
        await visitor.message(lambda m: m["kind"] == "employee")
        assert len(await stored(frontdesk, Message.source == "desk")) == 1
    assert [m["text"] for m in visitor.messages if m["kind"] == "employee"] == ["Refunded!"]


async def test_close_and_transfer_from_slack(frontdesk: Frontdesk, slack: FakeSlack) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        card = await one_card(slack)
        first = card["channel"][1:]
        transfer = {"action_id": "frontdesk_transfer", "type": "static_select", "block_id": "conversation:1",
                    "selected_option": {"value": "employee:sam", "text": {"type": "plain_text", "text": "Sam Rivera"}}}  # fmt: skip
        assert (await press(frontdesk.url, first, transfer)).status_code == 200
        told = await visitor.message(
            lambda m: "has passed your conversation to Sam Rivera" in m["text"]
        )
        assert told["introduces"]["name"] == "Sam Rivera"

        async def moved() -> bool:
            return any(c["channel"] == "DU0SAMRI01" for c in cards(slack)) and bool(slack.updates)

        await eventually(moved)
        assert "Transferred to Sam Rivera" in json.dumps(slack.updates[0]["blocks"])
        new_card = next(c for c in cards(slack) if c["channel"] == "DU0SAMRI01")
        assert CHARGED_TWICE in card_text(new_card)
        # The old thread no longer reaches the customer; the new one does.
        await send_event(
            frontdesk.url, thread_reply(card["channel"], card["ts"], first, "old thread")
        )
        await send_event(
            frontdesk.url,
            thread_reply("DU0SAMRI01", new_card["ts"], "U0SAMRI01", "Sam here, on it."),
        )
        await visitor.message(lambda m: m["kind"] == "employee")
        assert [m["text"] for m in visitor.messages if m["kind"] == "employee"] == [
            "Sam here, on it."
        ]

        close = {"action_id": "frontdesk_close", "type": "button", "value": "1"}
        assert (await press(frontdesk.url, "U0SAMRI01", close)).status_code == 200
        await visitor.message(lambda m: m["text"].startswith("Sam Rivera closed this conversation"))
    async with frontdesk.store.session() as session:
        conversation = await session.get(Conversation, 1)
    assert conversation is not None
    assert conversation.status == "closed"


async def jobs_of(frontdesk: Frontdesk, kind: str) -> list[OutboxJob]:
    async with frontdesk.store.session() as session:
        return list((await session.exec(select(OutboxJob).where(OutboxJob.kind == kind))).all())


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        ("payload=", "application/x-www-form-urlencoded"),
        ("[1, 2]", "application/json"),
        ("null", "application/json"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
    ],
    ids=["json", "form", "empty form", "json list", "json null", "form list"],
)
async def test_malformed_slack_payloads_are_refused(
    frontdesk: Frontdesk, body: str, content_type: str
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{frontdesk.url}/slack/events",
            content=body,
            headers={"Content-Type": content_type, **sign(body)},
        )
    assert (response.status_code, response.text) == (400, "malformed Slack payload")
    assert await stored(frontdesk, Message.source == "desk") == []


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("null", {}),
        ("[]", {}),
        ("123", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
        ('{"type": "event_callback"}', {"X-Slack-Request-Timestamp": "abc"}),
    ],
    ids=["null", "list", "number with a bad timestamp", "object without a signature"],
)
async def test_unsigned_junk_is_refused_before_it_is_read(
    frontdesk: Frontdesk, body: str, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{frontdesk.url}/slack/events",
            content=body,
            headers={"Content-Type": "application/json", **headers},
        )
    assert (response.status_code, response.text) == (401, "invalid Slack signature")
