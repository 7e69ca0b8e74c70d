"""No customer left waiting, over real HTTP: the real app with the Slack and Telegram
doubles and widget visitors, its clock moved rather than waited for. The promise from
seeded history on both channels, the reminder and the handover, nothing overnight,
holidays (the company's and a person's), and a restart between the reminder and the
escalation with two instances on one database."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.settings import Settings
from bot.tables import Message, OutboxJob
from tests.bot.test_escalation import (
    CHARGED,
    MONDAY_EVENING,
    TAKES_OVER,
    office_hours_text,
    priya_off,
    seed_replies,
)
from tests.bot.test_handoff import card_text, cards, one_card
from tests.bot.test_telegram import deliver, sent_to, telegram_settings
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_text, settings_for
from tests.fakes.harness import T0, Clock
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram, text
from tests.fakes.visitor import Visitor

PRIYA_DM, TOMAS_DM = "DU0PRIYA01", "DU0TOMAS01"
AROUND_THE_CLOCK = f"{always_open_text()}\nescalation: {{first_reply_within: 15m}}\n"


def escalating(
    tmp_path: Path, config: str, fake_rasa: FakeRasa, slack: FakeSlack, database: str = ""
) -> Settings:
    """The app's settings with `config` (SQLite in tmp_path unless `database` says)."""
    path = tmp_path / "escalating.yml"
    path.write_text(config)
    url = database or f"sqlite:///{tmp_path / 'fd.db'}"
    return settings_for(url, path, fake_rasa.url, slack.url)


async def caught_up(app: Frontdesk, clock: Clock) -> None:
    """Wait until no job due by the app's clock is left: whatever the time moved to
    allowed has happened (the timers set for later are still pending)."""

    async def done() -> bool:
        due = select(OutboxJob.id).where(
            OutboxJob.status == "pending", col(OutboxJob.run_after) <= clock.now
        )
        async with app.store.session() as session:
            return (await session.exec(due)).first() is None

    await eventually(done)


async def thread(slack: FakeSlack, card: dict[str, Any]) -> list[str]:
    """What was posted in `card`'s thread so far."""
    return [post["text"] for post in slack.posts_in(card["channel"], card["ts"])]


async def cards_to(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [card for card in cards(slack) if card["channel"] == channel]


async def test_the_promise_from_seeded_history_reaches_the_widget_and_telegram(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack, tg: FakeTelegram
) -> None:
    """Both billing people usually replied within about 10 minutes lately: the
    introduction says so, and so do the person's card and photo caption."""
    port, clock = free_port(), Clock()
    settings = telegram_settings(tmp_path, fake_rasa.url, slack, tg, port, webhook=True)
    async with Frontdesk(settings, port, clock=clock) as app, Visitor(app.url) as visitor:
        for person in ("priya", "tomas"):
            await seed_replies(app.store, person, [8, 9, 10, 11, 45], T0 - timedelta(days=2))
        await visitor.say(CHARGED)
        intro = await visitor.message(lambda m: "introduces" in m)
        first_name = intro["introduces"]["name"].split()[0]
        assert intro["text"].endswith(f"{first_name} usually replies within about 10 minutes.")
        assert intro["introduces"]["replies_within"] == "about 10 minutes"

        chat = 777101
        assert (await deliver(app, text(chat, CHARGED))).status_code == 200
        photo = await sent_to(tg, chat, lambda s: s["method"] == "sendPhoto")
        name, _, usually = photo["caption"].partition("\n")
        assert usually == "Usually replies within about 10 minutes"
        assert name.split(",")[0] != intro["introduces"]["name"]  # the other one: less load
        said = await sent_to(tg, chat, lambda s: "will answer you here" in s.get("text", ""))
        assert said["text"].endswith("usually replies within about 10 minutes.")


async def test_the_thread_gets_the_reminder_and_the_next_person_a_card(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    clock = Clock()
    settings = escalating(tmp_path, AROUND_THE_CLOCK, fake_rasa, slack)
    async with Frontdesk(settings, clock=clock) as app, Visitor(app.url) as visitor:
        await visitor.say(CHARGED)
        assert (await visitor.message(lambda m: "introduces" in m))["introduces"]["name"] == (
            "Priya Sharma"
        )
        card = await one_card(slack)
        assert card["channel"] == PRIYA_DM

        clock.advance(minutes=8)
        reminder = await eventually(lambda: thread(slack, card))
        assert reminder[0].startswith(":warning: Reminder: Visitor #1 is waiting")  # type: ignore[index]

        clock.advance(minutes=8)
        told = await visitor.message(lambda m: "taking over" in m["text"])
        assert told["introduces"]["name"] == "Tomás García"
        assert told["text"].startswith(TAKES_OVER)
        tomas = await eventually(lambda: cards_to(slack, TOMAS_DM))
        assert CHARGED in card_text(tomas[0])  # type: ignore[index]

        async def handed_over() -> list[str]:
            return [t for t in await thread(slack, card) if "Handed over to Tomás García" in t]

        await eventually(handed_over)
        assert [u["ts"] for u in slack.updates] == [card["ts"]]  # Priya's card says so


async def test_a_customer_writing_at_night_is_handled_after_the_morning_start(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    """Everyone works 09:00-17:30 in London: 15 minutes of work from Monday 20:00 end
    at 09:15 on Tuesday, with the reminder at 09:07:30; nothing happens in the night."""
    clock = Clock(datetime(2026, 11, 23, 20, 0, tzinfo=UTC))
    settings = escalating(tmp_path, office_hours_text(), fake_rasa, slack)
    async with Frontdesk(settings, clock=clock) as app, Visitor(app.url) as visitor:
        await visitor.say(CHARGED)
        intro = await visitor.message(lambda m: "introduces" in m)
        assert "Priya is back tomorrow at 09:00 (Europe/London time)" in intro["text"]
        card = await one_card(slack)
        await _expect(app, clock, datetime(2026, 11, 24, 4, 0, tzinfo=UTC), slack, card, 0)
        await _expect(app, clock, datetime(2026, 11, 24, 9, 7, tzinfo=UTC), slack, card, 0)
        await _expect(app, clock, datetime(2026, 11, 24, 9, 8, tzinfo=UTC), slack, card, 1)
        await _expect(app, clock, datetime(2026, 11, 24, 9, 14, tzinfo=UTC), slack, card, 1)
        clock.now = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
        told = await visitor.message(lambda m: "taking over" in m["text"])
        assert told["text"].startswith(TAKES_OVER)
        await caught_up(app, clock)
        assert len(await cards_to(slack, TOMAS_DM)) == 1


async def test_the_company_holiday_and_a_personal_one_are_not_working_time(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    """Handed to Priya at 17:25 on Monday: 5 minutes of work that day. Tuesday is the
    company's holiday and Wednesday Priya's own, so the reminder comes on Thursday at
    09:02:30 and the handover at 09:10."""
    config = priya_off(office_hours_text("holidays: [2026-11-24]\n"), "2026-11-25")
    clock = Clock(MONDAY_EVENING)
    settings = escalating(tmp_path, config, fake_rasa, slack)
    async with Frontdesk(settings, clock=clock) as app, Visitor(app.url) as visitor:
        await visitor.say(CHARGED)
        card = await one_card(slack)
        assert card["channel"] == PRIYA_DM
        for day, hour, minute, notes in [(24, 12, 0, 0), (25, 12, 0, 0), (26, 9, 2, 0),
                                         (26, 9, 3, 1), (26, 9, 9, 1)]:  # fmt: skip
            at = datetime(2026, 11, day, hour, minute, tzinfo=UTC)
            await _expect(app, clock, at, slack, card, notes)
        clock.now = datetime(2026, 11, 26, 9, 10, tzinfo=UTC)
        told = await visitor.message(lambda m: "taking over" in m["text"])
        assert told["introduces"]["name"] == "Tomás García"


async def test_a_restart_between_the_reminder_and_the_escalation_escalates_once(
    tmp_path: Path, fake_rasa: FakeRasa, slack: FakeSlack, database_url: str
) -> None:
    """The app stops after the reminder; two instances start on the same database well
    after the escalation was due: one card for Tomás, one 'taking over' for the customer."""
    clock = Clock()
    settings = escalating(tmp_path, AROUND_THE_CLOCK, fake_rasa, slack, database_url)
    async with Frontdesk(settings, clock=clock) as app, Visitor(app.url) as visitor:
        await visitor.say(CHARGED)
        card = await one_card(slack)
        clock.advance(minutes=8)
        await eventually(lambda: thread(slack, card))
        token = visitor.token
    clock.advance(minutes=30)
    async with Frontdesk(settings, clock=clock) as one, Frontdesk(settings, clock=clock) as two:
        await eventually(lambda: cards_to(slack, TOMAS_DM))
        await caught_up(one, clock)
        await caught_up(two, clock)
        assert len(await cards_to(slack, TOMAS_DM)) == 1
        assert [u["ts"] for u in slack.updates] == [card["ts"]]
        async with one.store.session() as session:
            said = select(Message.body).where(col(Message.body).contains("taking over"))
            assert [body[:90] for body in (await session.exec(said)).all()] == [TAKES_OVER[:90]]
        async with Visitor(two.url, token=token) as back:
            await back.message(lambda m: "taking over" in m["text"])
            assert sum("taking over" in m["text"] for m in back.messages) == 1


async def _expect(
    app: Frontdesk, clock: Clock, at: datetime, slack: FakeSlack, card: dict[str, Any], notes: int
) -> None:
    """At `at`, once all that is due has run: `notes` posts in the card's thread, and the
    conversation still with its first person."""
    clock.now = at
    await caught_up(app, clock)
    assert (len(await thread(slack, card)), await cards_to(slack, TOMAS_DM)) == (notes, []), at
