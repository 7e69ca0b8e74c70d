"""Data protection over real HTTP: the admin API exports and erases, and the erasure
reaches Slack's double (posts replaced, the files the app uploaded deleted), retried
through 429s and lost answers. (In memory and on the command line: test_privacy.py.)"""

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.roles import ERASED_POST
from bot.tables import outbox
from tests.bot.test_admin import call
from tests.bot.test_privacy import CARD, CHARGED
from tests.bot.test_telegram import CHARGED_TWICE, CHAT, card, deliver, settled, telegram_settings
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram, photo, text
from tests.fakes.visitor import Visitor

STATEMENT = "here is the bank statement"


async def test_the_admin_api_exports_and_erases_and_slack_posts_are_replaced_after_a_429(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED)
        await visitor.message(lambda m: "introduces" in m)
        await visitor.say(CARD)
        token = visitor.token
    await eventually(lambda: _async(len(slack.posts) >= 2))
    [listed] = (await call(frontdesk, "GET", "/admin/conversations")).json()["conversations"]
    customer = listed["customer_id"]

    exported = (await call(frontdesk, "GET", f"/admin/customers/{customer}/export")).json()
    said = [m["body"] for c in exported["conversations"] for m in c["messages"]]
    assert CHARGED in said
    assert CARD in said
    [contact] = exported["contacts"]
    assert contact["channel"] == "web"
    assert "hash" in contact["address_is"]
    assert token is not None
    assert token not in json.dumps(exported)

    slack.fail_next("chat.update", 429, retry_after=1)
    response = await call(frontdesk, "POST", f"/admin/customers/{customer}/erase")
    assert response.status_code == 200
    assert response.json()["erasure"]["messages"] == len(said)

    [(place, thread)] = {(p["channel"], p.get("thread_ts") or p["ts"]) for p in slack.posts}
    ours = [p for p in slack.posts if p["channel"] == place and thread in (p["ts"], p.get("thread_ts"))]  # fmt: skip
    assert len(ours) >= 2  # the card, the customer's second message

    async def replaced() -> bool:
        return all((place, p["ts"]) in slack.edited for p in ours)

    await eventually(replaced)
    for post in ours:
        edit = slack.edited[(place, post["ts"])]
        assert (edit["text"], edit["blocks"]) == (ERASED_POST, [])
    assert slack.calls.count("chat.update") == len(ours) + 1  # one answered 429

    [after] = (await call(frontdesk, "GET", "/admin/conversations")).json()["conversations"]
    assert (after["id"], after["intent"], after["status"]) == (listed["id"], "billing", "closed")
    parts = (await call(frontdesk, "GET", "/admin/report")).json()["parts"]
    assert [(r["topic"], r["conversations"]) for r in parts["volume"]] == [("billing", 1)]
    # Erased words are not read: no group of "[erased]", no 0.0 feelings about billing.
    assert parts["not_understood"] == parts["sentiment_topics"] == parts["sentiment"] == []

    updates = len(slack.updates)
    again = await call(frontdesk, "POST", f"/admin/customers/{customer}/erase")
    assert again.status_code == 200
    await eventually(lambda: _jobs_done(frontdesk))
    assert len(slack.updates) == updates  # nothing left to replace

    for method, action in (("GET", "export"), ("POST", "erase")):
        missing = await call(frontdesk, method, f"/admin/customers/999/{action}")
        assert (missing.status_code, missing.json()) == (404, {"error": "no customer 999"})


async def _async(value: bool) -> bool:
    return value


async def _jobs_done(frontdesk: Frontdesk) -> bool:
    async with frontdesk.store.reading() as connection:
        found = await connection.execute(
            select(outbox.c.id).where(outbox.c.kind == "desk.erase", outbox.c.status == "pending")
        )
        return found.first() is None


@pytest.fixture
async def app(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack, tg: FakeTelegram, database_url: str
) -> AsyncIterator[Frontdesk]:
    """The app with a Telegram webhook, on SQLite or PostgreSQL."""
    port = free_port()
    settings = telegram_settings(tmp_path, fake_rasa.url, slack, tg, port, webhook=True)
    async with Frontdesk(replace(settings, database_url=database_url), port) as frontdesk:
        yield frontdesk


async def test_an_erasure_deletes_the_files_the_app_uploaded_after_a_429_and_a_lost_answer(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    place, thread = posted["channel"], posted["ts"]
    await deliver(app, photo(CHAT, STATEMENT))  # uploaded into the thread, with its comment

    async def in_thread() -> list[dict[str, Any]]:
        return slack.posts_in(place, thread)

    shares = await eventually(in_thread)
    assert isinstance(shares, list)
    [shared] = shares
    [uploaded] = [f["id"] for f in shared["files"]]
    assert STATEMENT in shared["text"]
    # An employee's own file in the thread is theirs: Slack lists it under their name.
    theirs = {**slack.add_file("refund.pdf", b"%PDF-1.4", "application/pdf"), "user": "U0PRIYA01"}
    slack.posts.append({"channel": place, "thread_ts": thread, "ts": f"{thread}9",
                        "text": "Your refund", "files": [theirs], "user": "U0PRIYA01"})  # fmt: skip
    await settled(app)
    [listed] = (await call(app, "GET", "/admin/conversations")).json()["conversations"]

    slack.fail_next("files.delete", 429, retry_after=1)
    slack.fail_next("files.delete", 502, perform=True)  # deleted, but the answer is lost
    erased = await call(app, "POST", f"/admin/customers/{listed['customer_id']}/erase")
    assert erased.status_code == 200
    await eventually(lambda: _jobs_done(app))

    assert uploaded not in slack.files  # the file itself
    assert shared["ts"] not in {p["ts"] for p in slack.posts}  # its message and comment
    assert slack.calls.count("files.delete") == 3  # 429; lost; "file_not_found" is done
    assert slack.calls.count("chat.delete") == 1
    assert slack.edited[(place, thread)]["text"] == ERASED_POST  # the card
    assert theirs["id"] in slack.files
    left = [{**p, **slack.edited.get((place, p["ts"]), {})} for p in slack.posts]
    assert [p["text"] for p in left if p["ts"] != thread] == ["Your refund"]
    assert not any("Ada" in json.dumps(p) or STATEMENT in json.dumps(p) for p in left)
