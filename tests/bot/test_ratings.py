"""Ratings: in memory through the core (asked when a conversation closes, stored once,
skippable, off in config, shown in the thread, a comment asked for after a score alone,
reported per employee), then over real HTTP: a rating given in the widget reaching the
Slack thread, and none asked for when switched off (Telegram: test_telegram_ratings.py)."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.ratings import COMMENT_ASK, COMMENT_THANKS, COMMENT_WITHIN, SKIP, report
from bot.tables import Rating
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, always_open_text, settings_for
from tests.fakes.harness import Harness, config_from
from tests.fakes.rasa import FakeRasa
from tests.fakes.slack import FakeSlack, press
from tests.fakes.visitor import Visitor

CHARGED = "I was charged twice for my subscription this month"
ASK = "How did Priya do? Rate this conversation from 1 (poor) to 5 (great)."
EMPLOYEES = {"U0PRIYA01": "priya", "U0TOMAS01": "tomas"}  # billing, by Slack user


async def stored(harness: Harness) -> list[Rating]:
    async with harness.store.session() as session:
        return list((await session.exec(select(Rating))).all())


async def closed_by_priya(harness: Harness) -> None:
    await harness.customer("ada").says(CHARGED)
    await harness.employee("priya").writes("Refunded, sorry!")
    assert await harness.employee("priya").closes()


async def test_closing_asks_for_a_rating_that_reaches_the_thread_once(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await closed_by_priya(harness)
        closing = ada.received[-1]
        assert closing.text == (
            "Priya Sharma closed this conversation. Write here any time to start a new one.\n" + ASK
        )
        assert closing.rating is not None
        assert await ada.rates(4, "  Quick and kind  ") == "rated"
        assert ada.saw[-1] == "Thank you for your rating!"
        spot = harness.desk.thread_of("priya")
        assert harness.desk.in_thread(spot)[-1] == (
            "rated this conversation 4 out of 5 ★★★★☆: “Quick and kind”"
        )
        assert harness.desk.posts[-1][1].author == "Visitor #1"
        (rating,) = await stored(harness)
        assert (rating.employee_id, rating.score, rating.comment) == ("priya", 4, "Quick and kind")
        # Once: another answer changes nothing, and a reopened conversation is not asked again.
        assert await ada.rates(1) == "already"
        await harness.employee("priya").writes("One more thing: 3 days for the refund.")
        assert await harness.employee("priya").closes()
        assert ada.received[-1].rating is None
        assert ASK not in ada.received[-1].text
        assert [r.score for r in await stored(harness)] == [4]
        assert len(harness.desk.in_thread(spot)) == 1  # the rating, posted once


async def test_a_rating_can_be_skipped_and_then_not_given(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await closed_by_priya(harness)
        sent = len(ada.received)
        assert await ada.rates(None, "ignored") == "skipped"
        assert len(ada.received) == sent  # no thanks for a skip
        assert await ada.rates(5) == "already"
        (rating,) = await stored(harness)
        assert (rating.score, rating.comment) == (None, None)
        assert harness.desk.posts == []


async def test_a_score_alone_is_followed_by_a_request_for_a_comment(
    tmp_path: Path, database_url: str
) -> None:
    """As on Telegram, whose buttons carry a score only: the next text is the comment."""
    async with Harness(tmp_path, database_url=database_url) as harness:
        ada = harness.customer("ada")
        await closed_by_priya(harness)
        asked, me = ada.received[-1].rating, await ada.id()
        assert asked is not None
        assert await harness.ratings.rate(me, asked, 4, comment_next=True) == "rated"
        await harness.settle()
        request = ada.received[-1]
        assert (request.text, request.quick_replies) == (
            f"Thank you for your rating!\n{COMMENT_ASK}",
            (SKIP,),
        )
        assert await harness.ratings.comment(me, "  Quick and kind ", "ada:c1")
        assert await harness.ratings.comment(me, "  Quick and kind ", "ada:c1")  # a retry
        await harness.settle()
        assert ada.saw[-1] == COMMENT_THANKS
        assert harness.desk.in_thread(harness.desk.thread_of("priya")) == [
            "rated this conversation 4 out of 5 ★★★★☆",
            "rated this conversation 4 out of 5 ★★★★☆: “Quick and kind”",
        ]
        assert not await harness.ratings.comment(me, "And another thing", "ada:c2")
        (rating,) = await stored(harness)
        assert rating.comment == "Quick and kind"


@pytest.mark.parametrize(
    ("words", "after", "taken", "comment"),
    [
        ("Quick", COMMENT_WITHIN, True, "Quick"),
        ("Quick", COMMENT_WITHIN + timedelta(seconds=1), False, None),  # too late: a message
        (" skip ", timedelta(0), True, None),  # the Skip button's text declines
        ("x" * 1500, timedelta(0), True, "x" * 1000),  # ratings.max_comment_chars
    ],
)
async def test_what_the_text_after_a_score_is(
    tmp_path: Path, words: str, after: timedelta, taken: bool, comment: str | None
) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await closed_by_priya(harness)
        asked, me = ada.received[-1].rating, await ada.id()
        assert asked is not None
        await harness.ratings.rate(me, asked, 5, comment_next=True)
        harness.clock.advance(seconds=after.total_seconds())
        assert await harness.ratings.comment(me, words, "ada:c1") is taken
        await harness.settle()
        (rating,) = await stored(harness)
        assert rating.comment == comment
        assert len(harness.desk.in_thread(harness.desk.thread_of("priya"))) == 1 + bool(comment)


async def test_without_a_request_a_text_is_no_comment(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await closed_by_priya(harness)
        assert await ada.rates(4) == "rated"  # the widget's way: no request for a comment
        assert not await harness.ratings.comment(await ada.id(), "Quick", "ada:c1")
        (rating,) = await stored(harness)
        assert rating.comment is None


async def test_ratings_switched_off_in_config_are_not_asked_for(tmp_path: Path) -> None:
    config = config_from(always_open_text() + "\nratings: {enabled: false}\n")
    async with Harness(tmp_path, config=config) as harness:
        ada = harness.customer("ada")
        await closed_by_priya(harness)
        assert ada.received[-1].rating is None
        assert ada.received[-1].text.startswith("Priya Sharma closed this conversation.")
        assert "Rate" not in ada.received[-1].text


async def test_someone_elses_or_a_made_up_request_is_refused(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await closed_by_priya(harness)
        asked = harness.customer("ada").received[-1].rating
        assert asked is not None
        bob = await harness.customer("bob").id()
        assert await harness.ratings.rate(bob, asked, 5) == "unknown"
        ada = await harness.customer("ada").id()
        assert await harness.ratings.rate(ada, asked - 1, 5) == "unknown"  # asks nothing
        assert await stored(harness) == []


async def test_the_report_gives_each_employees_average(tmp_path: Path, database_url: str) -> None:
    async with Harness(tmp_path, database_url=database_url) as harness:
        given: dict[str, list[int | None]] = {}
        for name, score in (("ada", 5), ("bob", 2), ("cy", None), ("dee", 4)):
            customer = harness.customer(name)
            await customer.says(CHARGED)
            spot, card = harness.desk.cards[-1]
            await harness.employee(card.employee.id).writes("Done.", in_thread=spot)
            assert await harness.employee(card.employee.id).closes(spot)
            await customer.rates(score)
            given.setdefault(card.employee.id, []).append(score)
        month = harness.clock.now - timedelta(days=30)
        rows = await report(harness.store, harness.config, month)
        assert [row["id"] for row in rows] == [e.id for e in harness.config.employees]
        for row in rows:
            scores = [s for s in given.get(row["id"], []) if s is not None]
            assert row["rated"] == len(scores)
            assert row["average"] == (round(sum(scores) / len(scores), 2) if scores else None)
            assert row["skipped"] == given.get(row["id"], []).count(None)
        assert sum(row["rated"] for row in rows) == 3
        assert sum(row["skipped"] for row in rows) == 1
        later = await report(harness.store, harness.config, harness.clock.now + timedelta(days=1))
        assert later == [{**row, "rated": 0, "average": None, "skipped": 0} for row in rows]


# Over real HTTP ---------------------------------------------------------------------


async def card(slack: FakeSlack) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return [p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]

    return (await eventually(found))[0]  # type: ignore[index]


async def close(app_url: str, slack: FakeSlack, posted: dict[str, Any]) -> None:
    conversation = posted["blocks"][-2]["block_id"].removeprefix("conversation:")
    action = {"type": "button", "action_id": "frontdesk_close", "value": conversation,
              "block_id": f"conversation:{conversation}"}  # fmt: skip
    assert (
        await press(app_url, posted["channel"][1:], action, posted["channel"])
    ).status_code == 200


async def rating_in_thread(slack: FakeSlack, posted: dict[str, Any]) -> str:
    async def found() -> list[str]:
        thread = slack.posts_in(posted["channel"], posted["ts"])
        return [p["text"] for p in thread if "rated this conversation" in p["text"]]

    (line,) = await eventually(found)  # type: ignore[misc]
    return str(line)


async def test_a_rating_in_the_widget_reaches_the_thread(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED)
        posted = await card(slack)
        await close(frontdesk.url, slack, posted)
        asking = await visitor.message(lambda m: "rating" in m)
        assert asking["rating"] == {"rated": None}
        assert asking["text"].endswith("Rate this conversation from 1 (poor) to 5 (great).")
        bad = {"type": "rating", "message_id": asking["id"], "score": 6}
        await visitor.send_raw(json.dumps(bad))
        assert (await visitor.frame(lambda f: f["type"] == "error"))["code"] == "bad_rating"
        answer = {"type": "rating", "message_id": asking["id"], "score": 5, "comment": "Great <b>"}
        await visitor.send_raw(json.dumps(answer))
        rated = await visitor.frame(lambda f: f["type"] == "rated")
        assert rated == {
            "type": "rated",
            "message_id": asking["id"],
            "score": 5,
            "outcome": "rated",
        }
        await visitor.message(lambda m: m["text"] == "Thank you for your rating!")
        await visitor.send_raw(json.dumps(answer))
        again = await visitor.frame(lambda f: f["type"] == "rated")
        assert again["outcome"] == "already"
        token = visitor.token
    line = await rating_in_thread(slack, posted)
    assert line.endswith("rated this conversation 5 out of 5 ★★★★★: “Great &lt;b&gt;”")
    async with Visitor(frontdesk.url, token=token) as back:  # the request shows its answer
        shown = await back.message(lambda m: m["id"] == asking["id"])
        assert shown["rating"] == {"rated": 5}
    async with httpx.AsyncClient() as client:
        report = await client.get(
            f"{frontdesk.url}/admin/ratings", headers={"Authorization": "Bearer admin-secret"}
        )
    rows = {row["id"]: row for row in report.json()["employees"]}
    employee = EMPLOYEES[posted["channel"][1:]]
    assert rows[employee] == {"id": employee, "name": rows[employee]["name"], "rated": 1,
                              "average": 5.0, "skipped": 0}  # fmt: skip
    assert sum(row["rated"] for row in rows.values()) == 1


async def test_ratings_switched_off_ask_the_widget_for_none(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    config = always_open_config(tmp_path, more="\nratings: {enabled: false}\n")
    settings = settings_for(f"sqlite:///{tmp_path / 'fd.db'}", config, fake_rasa.url, slack.url)
    async with Frontdesk(settings) as app, Visitor(app.url) as visitor:
        await visitor.say(CHARGED)
        posted = await card(slack)
        await close(app.url, slack, posted)
        closing = await visitor.message(lambda m: "closed this conversation" in m["text"])
        assert "rating" not in closing
        assert "Rate" not in closing["text"]
        asked = {"type": "rating", "message_id": closing["id"], "score": 5}
        await visitor.send_raw(json.dumps(asked))  # a rating nobody asked for
        assert (await visitor.frame(lambda f: f["type"] == "rated"))["outcome"] == "unknown"
        async with app.store.session() as session:
            assert (await session.exec(select(Rating))).first() is None
