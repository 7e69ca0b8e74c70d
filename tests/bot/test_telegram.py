"""Telegram through python-telegram-bot against the Bot API double: webhook and long
polling, duplicates, forged secrets, 429 storms, files, long replies, blocked bots,
and one customer across the widget and Telegram."""

import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from telegram import Bot, Update

from bot.tables import Inbound, Message, OutboxJob
from bot.telegram import to_inbound
from bot.telegram_files import LIFETIME as TELEGRAM_LINK_LIFETIME
from bot.telegram_parts import TEXT_LIMIT, split
from tests.bot.test_files import shared
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, settings_for
from tests.fakes.harness import Clock
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import free_port
from tests.fakes.slack import FakeSlack, send_event, thread_reply
from tests.fakes.telegram import (
    BOT_TOKEN,
    BOT_USERNAME,
    FILE_BYTES,
    FakeTelegram,
    edited,
    photo,
    pressed,
    text,
    update,
)
from tests.fakes.visitor import Visitor

CHAT = 777001
EMPLOYEES = {"U0PRIYA01": "priya", "U0TOMAS01": "tomas"}  # billing, by Slack user
CHARGED_TWICE = "I was charged twice for my subscription this month"
PTB = Bot(BOT_TOKEN)
WEBHOOK_SECRET = "s3cret-token"


def inbound(payload: dict[str, Any]) -> Any:
    return to_inbound(Update.de_json(payload, PTB))


@pytest.mark.parametrize(
    ("payload", "kind", "fields"),
    [
        (text(1, "hello"), "text", {"text": "hello", "name": "Ada Lovelace", "language": "en"}),
        (text(1, "/start"), "start", {"start_code": None}),
        (text(1, "/start abc_DEF-123"), "start", {"start_code": "abc_DEF-123"}),
        (
            photo(1, "my broken chair"),
            "attachment",
            {"attachment": "photo", "file_id": "photo-1", "text": "my broken chair"},
        ),
        (
            update(
                1, document={"file_id": "doc1", "file_unique_id": "d", "file_name": "invoice.pdf"}
            ),
            "attachment",
            {"attachment": "document (invoice.pdf)", "file_id": "doc1"},
        ),
        (
            update(1, voice={"file_id": "v1", "file_unique_id": "v", "duration": 12}),
            "attachment",
            {"attachment": "voice message (12 s)"},
        ),
        (
            update(
                1,
                sticker={
                    "file_id": "st1",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "👍",
                },
            ),
            "attachment",
            {"attachment": "sticker 👍"},
        ),
        (
            update(1, location={"latitude": 51.5, "longitude": 0.1}),
            "attachment",
            {"attachment": "location", "file_id": None},
        ),
        (edited(text(1, "wrong"), "right"), "edit", {"text": "right"}),
        (
            pressed(1, {"message_id": 5, "text": "Rate us"}, "rate:5:4"),
            "button",
            {"text": "rate:5:4", "message_id": 5},
        ),
    ],
)
def test_updates_become_inbound_values(
    payload: dict[str, Any], kind: str, fields: dict[str, Any]
) -> None:
    result = inbound(payload)
    assert result.kind == kind
    assert result.chat_id == 1
    for name, value in fields.items():
        assert getattr(result, name) == value


def test_updates_we_do_not_act_on() -> None:
    group = text(1, "hi")
    group["message"]["chat"] = {"id": -5, "type": "group", "title": "x"}
    assert inbound(group) is None
    blocked = {"update_id": 9, "my_chat_member": {"chat": {"id": 1, "type": "private"}, "from": {"id": 1, "is_bot": False, "first_name": "A"}, "date": 1,
               "old_chat_member": {"status": "member", "user": {"id": 2, "is_bot": True, "first_name": "B"}},
               "new_chat_member": {"status": "kicked", "until_date": 0, "user": {"id": 2, "is_bot": True, "first_name": "B"}}}}  # fmt: skip
    assert inbound(blocked).kind == "blocked"


@pytest.mark.parametrize(
    ("length", "count"),
    [(0, 1), (1, 1), (TEXT_LIMIT, 1), (TEXT_LIMIT + 1, 2), (3 * TEXT_LIMIT + 7, 4)],
)
def test_split_is_lossless_and_under_the_limit(length: int, count: int) -> None:
    words = ("lorem ipsum dolor\nsit amet " * 2000)[:length]
    parts = split(words)
    assert "".join(parts) == words
    assert all(len(p) <= TEXT_LIMIT for p in parts)
    assert len(parts) == count  # cut at spaces, yet no more parts than the length needs


def test_split_cuts_a_long_word_where_it_must() -> None:
    assert split("x" * 5000) == ["x" * 4096, "x" * 904]
    assert split("a" * 4000 + " " + "b" * 200) == ["a" * 4000 + " ", "b" * 200]


def telegram_settings(
    tmp_path: Path,
    nlu_url: str,
    slack: FakeSlack,
    tg: FakeTelegram,
    port: int,
    *,
    webhook: bool,
    database_url: str | None = None,
    config: Path | None = None,
) -> Any:
    """The app's settings with Telegram on the Bot API double: a webhook (secret
    WEBHOOK_SECRET) or long polling; a SQLite file in `tmp_path` and the always-open
    config.yml unless given others."""
    base = settings_for(
        database_url or f"sqlite:///{tmp_path / 'fd.db'}",
        config or always_open_config(tmp_path),
        nlu_url,
        slack.url,
    )
    return replace(
        base, telegram_bot_token=BOT_TOKEN, telegram_api_url=tg.url,
        public_url=f"http://127.0.0.1:{port}" if webhook else None,
        telegram_webhook_secret=WEBHOOK_SECRET,
    )  # fmt: skip


@pytest.fixture
async def app(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack, tg: FakeTelegram
) -> AsyncIterator[Frontdesk]:
    """The app with a Telegram webhook, the NLU pointed at the Rasa double."""
    port = free_port()
    async with Frontdesk(
        telegram_settings(tmp_path, fake_rasa.url, slack, tg, port, webhook=True), port
    ) as frontdesk:
        yield frontdesk


@pytest.fixture
async def app_with_rasa(
    tmp_path: Path, rasa_url: str, slack: FakeSlack, tg: FakeTelegram
) -> AsyncIterator[Frontdesk]:
    """`app` with the real Rasa server: for what the shipped model does end to end."""
    port = free_port()
    async with Frontdesk(
        telegram_settings(tmp_path, rasa_url, slack, tg, port, webhook=True), port
    ) as frontdesk:
        yield frontdesk


async def deliver(
    app: Frontdesk, payload: dict[str, Any], secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{app.url}/telegram/webhook",
            json=payload,
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        )


async def sent_to(
    tg: FakeTelegram, chat: int, matching: Any, timeout: float = 20
) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        return next((s for s in tg.to(chat) if matching(s)), None)

    return await eventually(found, timeout)  # type: ignore[return-value]


async def settled(app: Frontdesk) -> None:
    """Wait until the outbox has nothing pending: all that was received so far is done."""

    async def idle() -> bool:
        async with app.store.session() as session:
            pending = select(OutboxJob).where(OutboxJob.status == "pending")
            return (await session.exec(pending)).first() is None

    await eventually(idle)


async def card(slack: FakeSlack) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return [p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]

    return (await eventually(found))[0]  # type: ignore[index]


async def test_a_telegram_customer_reaches_an_employee_and_hears_back(
    app_with_rasa: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    app = app_with_rasa
    assert tg.webhook["url"] == f"{app.url}/telegram/webhook"
    assert tg.webhook["secret_token"] == WEBHOOK_SECRET
    assert (await deliver(app, text(CHAT, "/start"))).status_code == 200
    await sent_to(tg, CHAT, lambda s: "a bot" in s.get("text", ""))

    assert (await deliver(app, text(CHAT, CHARGED_TWICE))).status_code == 200
    intro_photo = await sent_to(tg, CHAT, lambda s: s["method"] == "sendPhoto")
    name = intro_photo["caption"].split(",")[0]
    assert name in ("Priya Sharma", "Tomás García")
    assert "Usually answers Mon-Sun" in intro_photo["caption"]
    await sent_to(
        tg, CHAT, lambda s: f"{name} (" in s.get("text", "") and "will answer you here" in s["text"]
    )

    posted = await card(slack)
    assert "Telegram" in json.dumps(posted["blocks"])
    employee = posted["channel"][1:]
    await send_event(
        app.url, thread_reply(posted["channel"], posted["ts"], employee, "Refunded, sorry!")
    )
    reply = await sent_to(tg, CHAT, lambda s: s.get("text", "").endswith("Refunded, sorry!"))
    assert reply["text"] == f"{name} (Billing): Refunded, sorry!"


async def test_a_repeated_update_is_handled_once(app: Frontdesk, tg: FakeTelegram) -> None:
    payload = text(CHAT, "hello there")
    for _ in range(3):
        assert (await deliver(app, payload)).status_code == 200
    await sent_to(tg, CHAT, lambda s: "a bot" in s.get("text", ""))
    await settled(app)  # a second handling would have left work behind, or done it by now
    async with app.store.session() as session:
        customer = (await session.exec(select(Message).where(Message.author == "customer"))).all()
        stored = (await session.exec(select(Inbound))).all()
    assert len(customer) == 1
    assert len(stored) == 1
    assert len([s for s in tg.to(CHAT) if "a bot" in s.get("text", "")]) == 1


@pytest.mark.parametrize("secret", ["", "wrong", "s3cret-token-but-longer"])
async def test_a_forged_secret_is_rejected_and_nothing_stored(app: Frontdesk, secret: str) -> None:
    assert (await deliver(app, text(CHAT, "hello"), secret=secret)).status_code == 401
    async with app.store.session() as session:
        assert (await session.exec(select(Inbound))).all() == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"update_id": "7"}', b'{"message": {}}'])
async def test_malformed_updates_are_refused(app: Frontdesk, body: bytes) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{app.url}/telegram/webhook",
            content=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
    assert response.status_code == 400
    async with app.store.session() as session:
        assert (await session.exec(select(Inbound))).all() == []


async def test_a_429_storm_delays_but_loses_and_repeats_nothing(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    await sent_to(tg, CHAT, lambda s: "will answer you here" in s.get("text", ""))
    tg.fail_next("sendMessage", 429, times=3, retry_after=1)
    started = time.monotonic()
    for i in range(3):
        await send_event(
            app.url,
            thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], f"reply {i}"),
        )
    await sent_to(tg, CHAT, lambda s: s.get("text", "").endswith("reply 2"))
    assert time.monotonic() - started >= 3.0  # three waits of retry_after=1
    replies = [
        s["text"].rsplit(": ", 1)[1]
        for s in tg.to(CHAT)
        if s.get("text", "").split(": ")[-1].startswith("reply")
    ]
    assert replies == ["reply 0", "reply 1", "reply 2"]


async def test_sends_to_one_chat_are_paced(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    for i in range(3):
        await send_event(
            app.url,
            thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], f"paced {i}"),
        )
    await sent_to(tg, CHAT, lambda s: s.get("text", "").endswith("paced 2"))
    stamps = [s["at"] for s in tg.to(CHAT)]
    assert len(stamps) == 6  # greeting, photo, introduction, three replies
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.95, gaps


async def test_a_photo_is_uploaded_into_the_thread_once_a_lost_answer_notwithstanding(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    slack.fail_next("files.completeUploadExternal", 502, perform=True)  # shared; answer lost
    await deliver(app, photo(CHAT, "here is the bank statement"))

    async def in_thread() -> list[dict[str, Any]]:
        return slack.posts_in(posted["channel"], posted["ts"])

    (shared,) = await eventually(in_thread)  # type: ignore[misc]
    assert shared["text"] == "*Ada Lovelace*: here is the bank statement"
    assert [f["name"] for f in shared["files"]] == [f"photo-{CHAT}.jpg"]
    assert slack.files[shared["files"][0]["id"]]["data"] == FILE_BYTES
    await settled(app)
    # The retry looked in the thread, found it, and uploaded nothing again.
    assert slack.calls.count("files.getUploadURLExternal") == 1
    assert slack.calls.count("conversations.replies") == 1
    assert len(await in_thread()) == 1
    assert len(slack.files) == 1


async def test_a_photo_slack_refuses_reaches_the_thread_as_a_link_that_expires(
    tmp_path: Path, fake_rasa: FakeRasa, tg: FakeTelegram, slack: FakeSlack
) -> None:
    port, clock = free_port(), Clock()
    settings = telegram_settings(tmp_path, fake_rasa.url, slack, tg, port, webhook=True)
    async with Frontdesk(settings, port, clock=clock) as app:
        await deliver(app, text(CHAT, CHARGED_TWICE))
        posted = await card(slack)
        slack.fail_next("files.getUploadURLExternal", 200, error="file_uploads_disabled")
        await deliver(app, photo(CHAT, "here is the bank statement"))

        async def in_thread() -> list[dict[str, Any]]:
            return slack.posts_in(posted["channel"], posted["ts"])

        note = (await eventually(in_thread))[0]  # type: ignore[index]
        assert "here is the bank statement" in note["text"]
        assert "sent a photo" in note["text"]
        link = note["text"].split("<")[1].split("|")[0]
        expires = int(clock.now.timestamp()) + TELEGRAM_LINK_LIFETIME
        assert link.startswith(f"{app.url}/telegram/files/photo-{CHAT}?expires={expires}&sig=")
        assert BOT_TOKEN not in note["text"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(link)).content == FILE_BYTES
            assert (await client.get(link.replace("sig=", "sig=0"))).status_code == 403
            later = link.replace(f"expires={expires}", f"expires={expires + 3600}")
            assert (await client.get(later)).status_code == 403  # its signature is for then
            clock.advance(seconds=TELEGRAM_LINK_LIFETIME)
            assert (await client.get(link)).content == FILE_BYTES  # its last second
            clock.advance(seconds=1)
            expired = await client.get(link)
            assert (expired.status_code, expired.text) == (
                403,
                "this link is not signed, or has expired",
            )


async def test_an_edit_is_shown_as_an_edit(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    original = text(CHAT, "my order is 1234")
    await deliver(app, original)
    await deliver(app, edited(original, "my order is 12345"))

    async def both() -> bool:
        return len(slack.posts_in(posted["channel"], posted["ts"])) == 2

    await eventually(both)
    assert (
        "(edited) my order is 12345" in slack.posts_in(posted["channel"], posted["ts"])[1]["text"]
    )


async def test_a_long_reply_is_split_without_losing_a_character(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    long_reply = "\n".join(
        f"Line {i}: here is what happened with your payment." for i in range(200)
    )
    await send_event(
        app.url, thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], long_reply)
    )
    await sent_to(
        tg,
        CHAT,
        lambda s: s.get("text", "").endswith("Line 199: here is what happened with your payment."),
    )
    texts = [s["text"] for s in tg.to(CHAT) if s["method"] == "sendMessage"]
    start = next(i for i, t in enumerate(texts) if "(Billing): Line 0:" in t)
    joined = "".join(texts[start:])
    assert joined.split("(Billing): ", 1)[1] == long_reply
    assert all(len(t) <= TEXT_LIMIT for t in texts)
    assert len(texts) - start == 3


async def test_a_delivered_reply_gets_a_check_mark_once_a_lost_answer_notwithstanding(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    await sent_to(tg, CHAT, lambda s: "will answer you here" in s.get("text", ""))
    slack.fail_next("reactions.add", 502, perform=True)  # added, but the answer is lost
    reply = thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], "Refunded!")
    await send_event(app.url, reply)
    await sent_to(tg, CHAT, lambda s: s.get("text", "").endswith("Refunded!"))

    async def receipt_done() -> OutboxJob | None:
        async with app.store.session() as session:
            found = select(OutboxJob).where(OutboxJob.kind == "desk.receipt")
            job = (await session.exec(found)).first()
        return job if job is not None and job.status == "done" else None

    job = await eventually(receipt_done)
    assert job.attempts == 2  # type: ignore[attr-defined]  # the retry found it there
    check = {"channel": posted["channel"], "timestamp": reply["ts"], "name": "white_check_mark"}
    assert slack.reactions == [check]
    assert slack.calls.count("reactions.add") == 2


async def test_an_employees_files_arrive_as_a_photo_and_a_document(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    picture = slack.add_file("receipt.png", FILE_BYTES, "image/png")
    pdf = slack.add_file("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf")
    tool = slack.add_file("tool.exe", b"MZ", "application/x-msdownload")
    await send_event(app.url, shared(posted, "", picture, pdf, tool))
    document = await sent_to(tg, CHAT, lambda s: s["method"] == "sendDocument")
    (photo,) = [s for s in tg.to(CHAT) if isinstance(s.get("photo"), dict)]  # not the intro
    assert photo["photo"] == {"filename": "receipt.png", "bytes": FILE_BYTES}
    assert photo["caption"].endswith("(Billing)")  # no text: the first file names who sent it
    assert document["document"] == {"filename": "invoice.pdf", "bytes": b"%PDF-1.4 invoice"}

    async def noted() -> list[str]:
        thread = slack.posts_in(posted["channel"], posted["ts"])
        return [p["text"] for p in thread if "Not sent to the customer" in p["text"]]

    assert await eventually(noted) == [
        ":warning: Not sent to the customer: tool.exe (its type, application/x-msdownload, "
        "is not one customers can be sent)"
    ]
    assert "tool.exe" not in repr(tg.to(CHAT))


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("blocked", "the customer blocked the bot; "
                    "Telegram said: Forbidden: bot was blocked by the user"),
        ("gone", "the chat is gone: the customer deleted it, or their account; "
                 "Telegram said: Chat not found"),
    ],
)  # fmt: skip
async def test_a_blocked_bot_or_a_chat_gone_tells_the_employee_why_and_stops_trying(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack, where: str, reason: str
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    await sent_to(tg, CHAT, lambda s: "will answer you here" in s.get("text", ""))
    getattr(tg, where).add(CHAT)  # tg.blocked: a 403; tg.gone: a 400, "chat not found"
    await send_event(
        app.url,
        thread_reply(posted["channel"], posted["ts"], posted["channel"][1:], "Are you there?"),
    )

    async def warned() -> list[dict[str, Any]]:
        return [
            p
            for p in slack.posts_in(posted["channel"], posted["ts"])
            if "did not reach the customer" in p["text"]
        ]

    warning = (await eventually(warned))[0]  # type: ignore[index]
    assert warning["text"] == (
        f":warning: This reply did not reach the customer on Telegram ({reason}): Are you there?"
    )
    assert slack.reactions == []  # not marked delivered

    async def ended() -> OutboxJob | None:
        # The note can be posted before the job's outcome is written (outcomes are
        # written in batches), so wait for it to end rather than read it once.
        async with app.store.session() as session:
            job = (
                await session.exec(
                    select(OutboxJob)
                    .where(OutboxJob.kind == "customer.deliver")
                    .order_by(col(OutboxJob.id).desc())
                )
            ).first()
        return job if job is not None and job.status != "pending" else None

    job = await eventually(ended)
    assert isinstance(job, OutboxJob)
    assert (job.status, job.attempts) == ("failed", 1)


async def test_long_polling_commits_before_moving_the_offset(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack, tg: FakeTelegram
) -> None:
    port = free_port()
    async with Frontdesk(
        telegram_settings(tmp_path, fake_rasa.url, slack, tg, port, webhook=False), port
    ) as app:
        assert any(call[0] == "deleteWebhook" for call in tg.calls)
        first = text(CHAT, "/start")
        tg.queue_update(first)
        await sent_to(tg, CHAT, lambda s: "a bot" in s.get("text", ""))

        async def advanced() -> bool:
            return any(
                c[0] == "getUpdates" and int(c[1].get("offset") or 0) == first["update_id"] + 1
                for c in tg.calls
            )

        await eventually(advanced)
        async with app.store.session() as session:
            assert (
                await session.exec(select(Inbound).where(Inbound.key == str(first["update_id"])))
            ).first() is not None
    # A restart starts after the last committed update.
    tg.calls.clear()
    async with Frontdesk(
        telegram_settings(tmp_path, fake_rasa.url, slack, tg, port, webhook=False), port
    ):

        async def resumed() -> bool:
            return any(c[0] == "getUpdates" for c in tg.calls)

        await eventually(resumed)
        offsets = [int(c[1].get("offset") or 0) for c in tg.calls if c[0] == "getUpdates"]
        assert offsets[0] == first["update_id"] + 1


async def test_one_customer_on_both_channels(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    async with Visitor(app.url) as visitor:
        await visitor.say(CHARGED_TWICE)
        posted = await card(slack)
        employee = posted["channel"][1:]
        await send_event(
            app.url, thread_reply(posted["channel"], posted["ts"], employee, "Refunded.")
        )
        await visitor.message(lambda m: m["kind"] == "employee")
        await visitor.socket.send(json.dumps({"type": "link_telegram"}))
        link = (await visitor.frame(lambda f: f["type"] == "telegram_link"))["url"]
        assert link.startswith(f"https://t.me/{BOT_USERNAME}?start=")
        code = link.split("start=")[1]

        await deliver(app, text(CHAT, f"/start {code}"))
        await sent_to(tg, CHAT, lambda s: "now linked" in s.get("text", ""))
        await deliver(app, text(CHAT, "One more thing about that payment on my invoice"))

        async def answered_in_thread() -> bool:
            return len(slack.posts_in(posted["channel"], posted["ts"])) == 1

        await eventually(answered_in_thread)  # the same open conversation, now on Telegram
        await send_event(
            app.url, thread_reply(posted["channel"], posted["ts"], employee, "Sure, go on.")
        )
        await sent_to(tg, CHAT, lambda s: s.get("text", "").endswith("Sure, go on."))
        # The widget shows the whole history, Telegram part included.
        await visitor.message(
            lambda m: m["text"] == "One more thing about that payment on my invoice"
        )

    await deliver(app, text(CHAT, f"/start {code}"))  # a used code
    await sent_to(tg, CHAT, lambda s: "expired or was already used" in s.get("text", ""))


async def test_updates_from_one_chat_queue_in_one_lane(app: Frontdesk) -> None:
    for payload in (
        text(CHAT, "hi"),
        text(CHAT + 1, "hello"),
        edited(text(CHAT, "two"), "2"),
    ):
        await deliver(app, payload)
    async with app.store.session() as session:
        jobs = (
            await session.exec(
                select(OutboxJob)
                .where(OutboxJob.kind == "inbound.handle")
                .order_by(col(OutboxJob.id))
            )
        ).all()
    assert [job.lane for job in jobs] == [
        f"inbound:telegram:{CHAT}",
        f"inbound:telegram:{CHAT + 1}",
        f"inbound:telegram:{CHAT}",
    ]


async def test_an_erased_customer_leaves_no_chat_id_name_or_text(
    app: Frontdesk, slack: FakeSlack
) -> None:
    """Their raw updates (a rejected one too) stay only as keys, their jobs' lanes go."""
    words = "I was charged twice for my subscription this month"
    await deliver(app, text(CHAT, words))
    await deliver(app, {"update_id": 7_000_001, "message": {"chat": {"id": CHAT}, "text": "?"}})
    await settled(app)
    async with httpx.AsyncClient(base_url=app.url) as client:
        admin = {"Authorization": "Bearer admin-secret"}
        [talk] = (await client.get("/admin/conversations", headers=admin)).json()["conversations"]
        erased = await client.post(f"/admin/customers/{talk['customer_id']}/erase", headers=admin)
    assert erased.json()["erasure"]["updates"] == 2
    await settled(app)
    async with app.store.session() as session:
        rows = [
            json.dumps(list(row), default=str)
            for model in (Inbound, Message, OutboxJob)
            for row in (await session.exec(select(*model.__table__.c))).all()  # type: ignore[attr-defined]
        ]
        keys = (await session.exec(select(Inbound.key).order_by(col(Inbound.id)))).all()
    assert [row for row in rows if str(CHAT) in row or "Lovelace" in row or words in row] == []
    assert len(keys) == 2  # kept, emptied: a repeat is still recognised
    assert keys[-1] == "7000001"
