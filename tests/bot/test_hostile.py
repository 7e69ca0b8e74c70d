"""Hostile input at every inbound surface, from a seeded generator (tests/fakes/hostile.py):
forged, malformed, oversized and deeply nested requests to Slack's and Telegram's
endpoints, bad frames on the widget's socket, and widget sockets with a forged Origin or
identity. Nothing gets a 5xx, nothing forged has an effect, no job is retried for a body
that can never work, and the app stays healthy; each surface's run is bounded in time."""

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import col, func, select

from bot.tables import Contact, Customer, Inbound, Message, OutboxJob
from tests.bot.test_telegram import WEBHOOK_SECRET, telegram_settings
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_text
from tests.fakes.hostile import Request, slack_requests, telegram_requests, widget_frames
from tests.fakes.rasa import FakeRasa, meaning
from tests.fakes.server import free_port
from tests.fakes.slack import FakeSlack, sign
from tests.fakes.telegram import FakeTelegram
from tests.fakes.visitor import Visitor

SEED = 20261125
WIDGET_SECRET = "site-backend-secret"
SURFACE_TIMEOUT = 180  # seconds for each surface's run: generous for a busy CI machine
CHAT = 424242
CHARGED_TWICE = "I was charged twice for my subscription this month"
EMPLOYEE = "U0PRIYA01"


@pytest.fixture
async def app(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, slack: FakeSlack, tg: FakeTelegram
) -> AsyncIterator[Frontdesk]:
    """Frontdesk with every inbound surface on: the widget, Slack events, a Telegram webhook."""
    port = free_port()
    config = tmp_path / "config.yml"
    # Limits are tested on their own (test_visitors.py): here every request is judged.
    config.write_text(always_open_text().replace("per_minute: ", "per_minute: 1000").replace(
        "message_burst: 10", "message_burst: 10000"))  # fmt: skip
    settings = replace(
        telegram_settings(
            tmp_path, fake_rasa.url, slack, tg, port,
            webhook=True, database_url=database_url, config=config,
        ),
        widget_secret=WIDGET_SECRET,
    )  # fmt: skip
    fake_rasa.otherwise = meaning("out_of_scope", 0.2)  # whatever junk text gets through
    async with Frontdesk(settings, port) as frontdesk:
        yield frontdesk


async def a_thread(app: Frontdesk, slack: FakeSlack) -> tuple[str, str]:
    """A real conversation's Slack thread, for forged replies to aim at."""
    async with Visitor(app.url) as visitor:
        assert (await visitor.say(CHARGED_TWICE))["type"] == "ack"

        async def card() -> list[dict[str, Any]]:
            return [p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]

        found = (await eventually(card))[0]  # type: ignore[index]
    return str(found["channel"]), str(found["ts"])


async def post_all(
    app: Frontdesk, path: str, requests: Iterator[Request], statuses: Counter[tuple[str, int]]
) -> None:
    """POST every request to `path`, checking that the app stays healthy meanwhile."""
    async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
        for index, request in enumerate(requests):
            response = await client.post(path, content=request.body, headers=request.headers)
            statuses[path, response.status_code] += 1
            if request.forged:
                assert response.status_code == 401, (path, request, response.text)
            if index % 250 == 0:
                assert (await client.get("/healthz")).status_code == 200


async def test_hostile_input_gets_no_5xx_no_forgery_no_poison_jobs(
    app: Frontdesk, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    channel, thread_ts = await a_thread(app, slack)
    statuses: Counter[tuple[str, int]] = Counter()
    async with asyncio.timeout(SURFACE_TIMEOUT):
        await settled(app)
        await forged_widgets(app)
    async with asyncio.timeout(SURFACE_TIMEOUT):
        thread = (channel, thread_ts)
        await post_all(app, "/slack/events", slack_requests(SEED, 1500, thread, EMPLOYEE), statuses)
    async with asyncio.timeout(SURFACE_TIMEOUT):
        updates = telegram_requests(SEED, 1500, WEBHOOK_SECRET, CHAT)
        await post_all(app, "/telegram/webhook", updates, statuses)
    async with asyncio.timeout(SURFACE_TIMEOUT):
        refused = await widget_fuzz(app, widget_frames(SEED, 600))

    assert not [s for s in statuses if s[1] >= 500], statuses
    assert {code for path, code in statuses if path == "/slack/events"} >= {200, 400, 401}
    assert {code for path, code in statuses if path == "/telegram/webhook"} >= {200, 400, 401}
    # Refused with a reason, never an internal error (1011; 1006 is the client's view
    # of a socket the server closed while frames were still on their way).
    assert refused["closed 1011"] == 0, refused
    assert {"bad_frame", "unknown_type", "closed 1009"} <= set(refused), refused
    await settled(app)
    async with app.store.session() as session:
        jobs = (await session.exec(select(OutboxJob))).all()
        assert [(j.kind, j.status, j.last_error) for j in jobs if j.status != "done"] == []
        assert [(j.kind, j.attempts, j.last_error) for j in jobs if j.attempts > 1] == []
        replies = (
            await session.exec(select(Message).where(col(Message.author) == "employee"))
        ).all()
        inbox = (await session.exec(select(Inbound))).all()
    assert {r.source_id for r in replies} & forged_replies((channel, thread_ts)) == set()
    assert {i.key for i in inbox} & forged_update_ids() == set()
    rejected = {i.key for i in inbox if i.rejected is not None}
    assert 0 < len(rejected) < 500
    async with httpx.AsyncClient(base_url=app.url) as client:
        listed = await client.get(
            "/admin/rejected?limit=500", headers={"Authorization": "Bearer admin-secret"}
        )
    assert listed.status_code == 200
    assert {r["key"] for r in listed.json()["rejected"]} == rejected
    assert all(r["reason"].endswith("while reading the update") for r in listed.json()["rejected"])
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    async with Visitor(app.url) as visitor:  # still serving ordinary visitors
        assert (await visitor.say("hello"))["type"] == "ack"


def forged_replies(thread: tuple[str, str]) -> set[str]:
    """The Slack ids of the thread replies sent with wrong credentials."""
    forged = (r for r in slack_requests(SEED, 1500, thread, EMPLOYEE) if r.forged)
    return {f"{thread[0]}:{json.loads(r.body)['event']['ts']}" for r in forged}


def forged_update_ids() -> set[str]:
    forged = (r for r in telegram_requests(SEED, 1500, WEBHOOK_SECRET, CHAT) if r.forged)
    return {str(json.loads(r.body)["update_id"]) for r in forged}


async def forged_widgets(app: Frontdesk) -> None:
    """Sockets from pages of other sites (a forged or missing Origin) and hellos with a
    forged identity, each followed by a message: all refused, and nothing stored."""
    url = app.url.replace("http", "ws", 1) + "/widget/socket"
    rng = random.Random(SEED)
    before = await rows(app)
    origins = [None, "null", "http://evil.example", f"{app.url}.evil.example",
               app.url.replace("127.0.0.1", "localhost"), app.url.replace("http:", "https:")]  # fmt: skip
    for origin in origins * 5:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, origin=origin) as socket:  # type: ignore[arg-type]
                await socket.send(json.dumps({"type": "hello", "token": None}))
        assert refused.value.response.status_code == 403, origin
    for n in range(60):
        user = f"user-{rng.randrange(10**6)}"
        right = hmac.new(WIDGET_SECRET.encode(), user.encode(), hashlib.sha256).hexdigest()
        forged = rng.choice([
            "0" * 64, right[:-1] + ("0" if right[-1] != "0" else "1"), right[:32], "",
            hmac.new(b"guessed", user.encode(), hashlib.sha256).hexdigest(),
            hmac.new(WIDGET_SECRET.encode(), f"{user}x".encode(), hashlib.sha256).hexdigest(),
        ])  # fmt: skip
        identity = {"id": user, "name": f"Impostor {n}", "email": f"{user}@example.com"}
        async with websockets.connect(url, origin=app.url) as socket:  # type: ignore[arg-type]
            await socket.send(json.dumps({"type": "hello", "token": None,
                                          "identity": {**identity, "hash": forged}}))  # fmt: skip
            with contextlib.suppress(websockets.ConnectionClosed):
                await socket.send(json.dumps({"type": "message", "id": f"x{n}", "text": "hi"}))
            answer = json.loads(await socket.recv())
            assert (answer["type"], answer["code"]) == ("error", "bad_identity"), answer
            with pytest.raises(websockets.ConnectionClosed):
                await socket.recv()
            assert socket.close_code == 1008
    await settled(app)
    assert await rows(app) == before


async def rows(app: Frontdesk) -> tuple[int, ...]:
    """How many customers, contacts and messages are stored."""
    async with app.store.session() as session:
        return tuple(
            [(await session.exec(select(func.count()).select_from(table))).one()
             for table in (Customer, Contact, Message)]
        )  # fmt: skip


async def widget_fuzz(app: Frontdesk, frames: Iterator[str | bytes]) -> Counter[str]:
    """Send every frame over a widget socket, opening a new one whenever the server
    closes it: how often the server refused a frame, by code, and closed a socket."""
    url = app.url.replace("http", "ws", 1) + "/widget/socket"
    seen: Counter[str] = Counter()
    pending = list(frames)
    token = None  # one visitor: new ones from one address are limited
    while pending:
        async with websockets.connect(url, origin=app.url, max_size=None) as socket:  # type: ignore[arg-type]
            await socket.send(json.dumps({"type": "hello", "token": token}))
            welcome = json.loads(await socket.recv())
            assert welcome["type"] == "welcome", welcome
            token = welcome["token"]
            reader = asyncio.create_task(_errors(socket, seen))
            try:
                while pending:
                    await socket.send(pending[0])
                    pending.pop(0)
                    await asyncio.sleep(0)
                await socket.send(json.dumps({"type": "ping"}))
                await asyncio.sleep(0.2)
            except websockets.ConnectionClosed:
                pass
            await socket.close()
            await reader  # the frames the server sent before it closed
        seen[f"closed {socket.close_code}"] += 1
    return seen


async def _errors(socket: Any, seen: Counter[str]) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):  # an abnormal closure ends it
        async for raw in socket:
            if (frame := json.loads(raw))["type"] == "error":
                seen[frame["code"]] += 1


async def settled(app: Frontdesk) -> None:
    """Wait until no job is pending."""

    async def idle() -> bool:
        async with app.store.session() as session:
            pending = select(OutboxJob).where(col(OutboxJob.status) == "pending")
            return not (await session.exec(pending)).all()

    await eventually(idle, timeout=60)


@pytest.mark.parametrize("path", ["/slack/events", "/telegram/webhook"])
async def test_a_client_that_hangs_up_mid_body_is_noted_quietly(
    app: Frontdesk, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, **sign("{}")}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    _, writer = await asyncio.open_connection("127.0.0.1", app.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{head}"
        f'Content-Length: 100000\r\n\r\n{{"update_id": 1'.encode()
    )
    await writer.drain()
    writer.close()

    async def noted() -> bool:
        return any("hung up" in r.getMessage() for r in caplog.records)

    await eventually(noted)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    async with httpx.AsyncClient(base_url=app.url) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_the_newer_surfaces_refuse_junk_without_a_5xx(
    app: Frontdesk, caplog: pytest.LogCaptureFixture
) -> None:
    """Slash-command forms, Telegram button presses and the widget's file links, given
    junk with valid credentials: a 4xx (or an acknowledged no-op), never a 5xx."""
    caplog.set_level(logging.WARNING)
    forms = [
        {}, {"command": "/frontdesk"}, {"command": "/frontdesk", "user_id": ""},
        {"command": "/frontdesk", "user_id": "U0PRIYA01", "text": "\x00" * 10},
        {"command": "/other", "user_id": "U0PRIYA01", "text": "away"},
        {"command": ["x"], "user_id": "U0PRIYA01"},
    ]  # fmt: skip
    press = {"id": "1", "from": {"id": 5, "is_bot": False, "first_name": "M"}, "chat_instance": "c"}
    presses = [
        press, {**press, "data": "rate:9:9"}, {**press, "data": "rate:x"}, {**press, "data": ""},
        {**press, "data": "rate:1:" + "9" * 400}, {**press, "message": 5}, {**press, "data": 5},
    ]  # fmt: skip
    statuses: list[tuple[str, int]] = []
    async with httpx.AsyncClient(base_url=app.url) as client:
        for form in forms:
            body = urllib.parse.urlencode(form, doseq=True)
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
            response = await client.post("/slack/events", content=body, headers=headers)
            statuses.append(("slash", response.status_code))
        for n, callback in enumerate(presses):
            update = {"update_id": 900 + n, "callback_query": callback}
            response = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
            )
            statuses.append(("callback", response.status_code))
        for path in ["/widget/files/1/0", "/widget/files/1/0?expires=x&sig=y",
                     f"/widget/files/{2**70}/0?expires=9999999999&sig=00", "/widget/files/-1/0"]:  # fmt: skip
            statuses.append((path, (await client.get(path)).status_code))
    assert [s for s in statuses if s[1] >= 500] == [], statuses
    await settled(app)
    async with app.store.session() as session:
        jobs = (await session.exec(select(OutboxJob))).all()
    assert [(j.kind, j.attempts, j.last_error) for j in jobs if j.attempts > 1] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
