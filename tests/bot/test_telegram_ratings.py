"""Ratings on Telegram over real HTTP (the Bot API and Slack doubles): the inline
keyboard, a press reaching the thread, then the comment asked for after the score: the
customer's next text, shown in the thread like the widget's comment; Skip, and a text
after the window, are not comments."""

from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.ratings import COMMENT_ASK, COMMENT_THANKS, COMMENT_WITHIN
from bot.tables import Rating
from tests.bot.test_telegram import (
    CHARGED_TWICE,
    CHAT,
    EMPLOYEES,
    app,
    card,
    deliver,
    sent_to,
    settled,
    telegram_settings,
)
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.harness import Clock
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import free_port
from tests.fakes.slack import FakeSlack, press
from tests.fakes.telegram import FakeTelegram, pressed, text

__all__ = ["app"]  # the fixture, from test_telegram.py

SCORE_FOUR = "*Ada Lovelace*: rated this conversation 4 out of 5 ★★★★☆"
THANKS = f"Thank you for your rating!\n{COMMENT_ASK}"


async def closed(app: Frontdesk, tg: FakeTelegram, slack: FakeSlack) -> dict[str, Any]:
    """CHAT's conversation, closed from its card: the card (the Telegram message that
    asks for the rating is then `asking(tg)`)."""
    await deliver(app, text(CHAT, CHARGED_TWICE))
    posted = await card(slack)
    conversation = posted["blocks"][-2]["block_id"].removeprefix("conversation:")
    close = {"type": "button", "action_id": "frontdesk_close", "value": conversation}
    await press(app.url, posted["channel"][1:], close, posted["channel"])
    return posted


async def asking(tg: FakeTelegram) -> dict[str, Any]:
    return await sent_to(tg, CHAT, lambda s: "closed this conversation" in s.get("text", ""))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def rate(app: Frontdesk, tg: FakeTelegram, score: int) -> dict[str, Any]:
    """Press `score` under the rating request; the comment request that follows."""
    request = await asking(tg)
    await deliver(app, pressed(CHAT, request, buttons(request)[score - 1]["callback_data"]))
    return await sent_to(tg, CHAT, lambda s: s.get("text") == THANKS)


async def in_thread(slack: FakeSlack, posted: dict[str, Any]) -> list[str]:
    return [p["text"] for p in slack.posts_in(posted["channel"], posted["ts"])]


async def ratings_in_thread(slack: FakeSlack, posted: dict[str, Any]) -> list[str]:
    return [line for line in await in_thread(slack, posted) if "rated this" in line]


async def two_cards(slack: FakeSlack) -> bool:
    """Whether a second conversation's card is on the desk."""
    return len([p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]) == 2


async def stored(app: Frontdesk) -> Rating:
    async with app.store.session() as session:
        return (await session.exec(select(Rating))).one()


async def test_a_rating_on_telegram_reaches_the_thread(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    assert "callback_query" in tg.webhook["allowed_updates"]
    posted = await closed(app, tg, slack)
    request = await asking(tg)
    assert request["text"].endswith("Rate this conversation from 1 (poor) to 5 (great).")
    shown = buttons(request)
    assert [b["text"] for b in shown] == ["1 ★", "2 ★★", "3 ★★★", "4 ★★★★", "5 ★★★★★", "Skip"]

    forged = pressed(CHAT, request, "rate:1:5")  # data no button of ours carries for this chat
    assert (await deliver(app, forged)).status_code == 200
    await eventually(lambda: _answered(tg, forged))
    assert tg.answered[-1]["text"] == "This button no longer works."

    update = pressed(CHAT, request, shown[3]["callback_data"])
    assert (await deliver(app, update)).status_code == 200
    await eventually(lambda: _answered(tg, update))
    assert tg.answered[-1]["text"] == "Thank you!"
    assert tg.keyboards[CHAT, request["message_id"]] is None  # the buttons are gone
    await sent_to(tg, CHAT, lambda s: s.get("text") == THANKS)
    assert await eventually(lambda: ratings_in_thread(slack, posted)) == [SCORE_FOUR]

    again = pressed(CHAT, request, shown[0]["callback_data"])  # a second press
    await deliver(app, again)
    await eventually(lambda: _answered(tg, again))
    assert tg.answered[-1]["text"] == "This conversation has its rating already."
    await settled(app)
    assert len(await ratings_in_thread(slack, posted)) == 1
    rating = await stored(app)
    assert (rating.score, rating.employee_id) == (4, EMPLOYEES[posted["channel"][1:]])


async def test_the_next_text_after_a_score_is_its_comment_in_the_thread(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    posted = await closed(app, tg, slack)
    request = await rate(app, tg, 4)
    assert request["reply_markup"]["keyboard"] == [[{"text": "Skip"}]]
    assert request["reply_markup"]["one_time_keyboard"] is True
    await eventually(lambda: ratings_in_thread(slack, posted))  # the score first

    await deliver(app, text(CHAT, "  Quick and kind, thank you Priya  "))
    await sent_to(tg, CHAT, lambda s: s.get("text") == COMMENT_THANKS)
    commented = f"{SCORE_FOUR}: “Quick and kind, thank you Priya”"

    async def both() -> list[str]:
        found = await ratings_in_thread(slack, posted)
        return found if len(found) == 2 else []

    assert await eventually(both) == [SCORE_FOUR, commented]
    # The comment is the rating's, not a message: nothing else in the thread says it,
    # and no new conversation began.
    assert [line for line in await in_thread(slack, posted) if "Quick and kind" in line] == [
        commented
    ]
    assert (await stored(app)).comment == "Quick and kind, thank you Priya"
    await deliver(app, text(CHAT, CHARGED_TWICE))  # not a comment
    await eventually(lambda: two_cards(slack))
    await settled(app)
    assert (await stored(app)).comment == "Quick and kind, thank you Priya"
    assert len(await ratings_in_thread(slack, posted)) == 2


async def test_skip_declines_the_comment_and_the_next_text_is_a_message(
    app: Frontdesk, tg: FakeTelegram, slack: FakeSlack
) -> None:
    posted = await closed(app, tg, slack)
    await rate(app, tg, 4)
    await deliver(app, text(CHAT, "Skip"))  # the Skip button's text
    await deliver(app, text(CHAT, CHARGED_TWICE))
    await eventually(lambda: two_cards(slack))  # a new conversation, on a new card
    await settled(app)
    assert (await stored(app)).comment is None
    assert await ratings_in_thread(slack, posted) == [SCORE_FOUR]
    assert not [s for s in tg.to(CHAT) if s.get("text") == COMMENT_THANKS]


async def test_a_text_after_the_window_is_a_message_not_a_comment(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack, tg: FakeTelegram
) -> None:
    port, clock = free_port(), Clock()
    settings = telegram_settings(tmp_path, fake_rasa.url, slack, tg, port, webhook=True)
    async with Frontdesk(settings, port, clock=clock) as app:
        posted = await closed(app, tg, slack)
        await rate(app, tg, 4)
        await settled(app)
        clock.advance(seconds=COMMENT_WITHIN.total_seconds() + 1)
        await deliver(app, text(CHAT, CHARGED_TWICE))
        await eventually(lambda: two_cards(slack))
        await settled(app)
        assert (await stored(app)).comment is None
        assert await ratings_in_thread(slack, posted) == [SCORE_FOUR]


async def _answered(tg: FakeTelegram, update: dict[str, Any]) -> bool:
    query = update["callback_query"]["id"]
    return any(a["callback_query_id"] == query for a in tg.answered)
