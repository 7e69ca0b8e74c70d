"""The widget's WebSocket protocol against the real app: identity, acks, duplicates,
history, bad frames and the Origin check."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import websockets
from sqlmodel import select

from bot.conversations import customer_news
from bot.tables import Contact, Message
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.visitor import Visitor


async def customer_messages(frontdesk: Frontdesk) -> list[Message]:
    async with frontdesk.store.session() as session:
        return list((await session.exec(select(Message).where(Message.author == "customer"))).all())


async def test_a_resent_message_is_stored_once_and_acked_each_time(frontdesk: Frontdesk) -> None:
    async with Visitor(frontdesk.url) as visitor:
        first = await visitor.say("hello there", client_id="abc-1")
        again = await visitor.say("hello there", client_id="abc-1")
    assert first["type"] == again["type"] == "ack"
    assert first["message_id"] == again["message_id"]
    assert len(await customer_messages(frontdesk)) == 1


async def test_a_token_brings_back_the_same_customer_and_history(frontdesk: Frontdesk) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("hi")
        await visitor.message(lambda m: m["kind"] == "bot")
        token = visitor.token
    assert token is not None
    assert len(token) >= 22
    async with Visitor(frontdesk.url, token=token) as again:
        await again.message(lambda m: m["kind"] == "bot")
        assert again.token == token
        assert [m["text"] for m in again.messages if m["kind"] == "customer"] == ["hi"]
    async with frontdesk.store.session() as session:
        contact = (await session.exec(select(Contact))).one()
    assert contact.address != token  # only a hash is stored


async def test_an_unknown_token_gets_a_new_identity_and_no_history(frontdesk: Frontdesk) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("hi")
    async with Visitor(frontdesk.url, token="x" * 32) as stranger:
        assert stranger.token != "x" * 32
        await stranger.say("hello")
        await stranger.message(lambda m: m["kind"] == "bot")
        assert [m["text"] for m in stranger.messages if m["kind"] == "customer"] == ["hello"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_frame"),
        ('["a", "list"]', "bad_frame"),
        ('{"type": "shout"}', "unknown_type"),
        ('{"type": "message", "id": "no spaces allowed", "text": "hi"}', "bad_id"),
        ('{"type": "message", "id": "m1", "text": "   "}', "empty"),
        ('{"type": "message", "id": "m1", "text": 42}', "empty"),
        (json.dumps({"type": "message", "id": "m1", "text": "x" * 4001}), "too_long"),
    ],
)
async def test_bad_frames_get_a_clear_error_and_store_nothing(
    frontdesk: Frontdesk, frame: str, code: str
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("first, a good one")
        await visitor.send_raw(frame)
        error = await visitor.frame(lambda f: f["type"] == "error")
        assert error["code"] == code
        assert error["message"]
        await visitor.say("and the connection still works")
    assert [m.body for m in await customer_messages(frontdesk)] == [
        "first, a good one",
        "and the connection still works",
    ]


async def test_a_huge_frame_closes_the_socket_without_harm(frontdesk: Frontdesk) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("hello")
        await visitor.send_raw(json.dumps({"type": "message", "id": "big", "text": "x" * 200_000}))
        await visitor.closed()
        assert visitor.socket.close_code == 1009  # message too big
    assert [m.body for m in await customer_messages(frontdesk)] == ["hello"]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:1", "null"])
async def test_other_origins_are_refused(frontdesk: Frontdesk, origin: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Visitor(frontdesk.url, origin=origin).__aenter__()
    assert refused.value.response.status_code == 403


async def test_allowed_origins_come_from_the_environment(
    frontdesk: Frontdesk, tmp_path: Path
) -> None:
    await frontdesk.restart(allowed_origins=("https://shop.acme.example",))
    async with Visitor(frontdesk.url, origin="https://shop.acme.example") as visitor:
        assert (await visitor.say("hi"))["type"] == "ack"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Visitor(frontdesk.url).__aenter__()  # its own origin is no longer listed
    assert refused.value.response.status_code == 403
    frontdesk.settings = replace(frontdesk.settings, allowed_origins=())


async def test_the_script_and_the_demo_page(frontdesk: Frontdesk) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        script = await client.get(f"{frontdesk.url}/widget.js")
        page = await client.get(f"{frontdesk.url}/")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text  # text goes in as text
    assert '<script src="/widget.js"' in page.text
    assert "Content-Security-Policy" in page.headers
    assert "Slack is not connected" not in page.text  # this app has Slack


async def test_a_long_history_arrives_whole(frontdesk: Frontdesk) -> None:
    from bot.widget_messages import PAGE

    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("first")
        token = visitor.token
    async with frontdesk.store.session() as session:
        first = (await session.exec(select(Message))).first()
        assert first is not None
        session.add_all(
            Message(
                conversation_id=first.conversation_id,
                author="employee",
                employee_id="priya",
                body=f"n{i}",
                source="slack",
                source_id=f"x:{i}",
            )
            for i in range(2 * PAGE + 5)
        )
        await session.commit()
    async with Visitor(frontdesk.url, token=token) as again:
        await again.message(lambda m: m["text"] == f"n{2 * PAGE + 4}")
        assert len([m for m in again.messages if m["kind"] == "employee"]) == 2 * PAGE + 5


async def test_a_message_that_commits_after_a_later_one_still_arrives(
    frontdesk: Frontdesk,
) -> None:
    """On PostgreSQL an id is taken at insert and transactions commit in any order, so a
    message can appear after one with a higher id was shown (a reply and a bot message
    written by two instances at once)."""
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("first")
        token = visitor.token
    async with frontdesk.store.session() as session:
        said = (await session.exec(select(Message))).all()
    conversation, base = said[0].conversation_id, max(m.id or 0 for m in said)

    async def commit(message_id: int, body: str) -> None:
        async with frontdesk.store.session() as session:
            session.add(Message(id=message_id, conversation_id=conversation, author="employee",
                                employee_id="priya", body=body, source="slack",
                                source_id=body))  # fmt: skip
            await session.commit()

    await commit(base + 100, "later")
    async with Visitor(frontdesk.url, token=token) as again:
        await again.message(lambda m: m["text"] == "later")  # the cursor is past 100
        await commit(base + 50, "earlier")
        frontdesk.runtime.news.deliver(customer_news(1, base + 50))
        await again.message(lambda m: m["text"] == "earlier")
        frontdesk.runtime.news.deliver(customer_news(1, base + 100))  # news of one shown
        await again.say("hi")
        await again.message(lambda m: m["text"] == "hi")
    assert [m["text"] for m in again.messages].count("later") == 1


async def test_a_socket_that_cannot_push_is_closed_so_the_widget_reconnects(
    frontdesk: Frontdesk, caplog: pytest.LogCaptureFixture
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say("first")
        widget = frontdesk.runtime.widget

        async def broken(customer_id: int, ids: list[int]) -> list[dict[str, object]]:
            raise RuntimeError("the store went away")

        widget.messages.these = broken  # type: ignore[method-assign]
        frontdesk.runtime.news.deliver(customer_news(1, 10_000))
        await visitor.closed()
        assert visitor.socket.close_code == 1011
    assert "a widget socket stopped pushing" in caplog.text
