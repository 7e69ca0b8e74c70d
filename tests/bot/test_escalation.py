"""No customer left waiting, through the core in memory with the harness's clock: the
reply-time promise from how fast a person really replied, the reminder and then the
escalation to the next available person, working time (nights, holidays), a team's own
deadline, the team alerted when nobody else can take it, a reply that makes it all
moot, and a restart between the reminder and the escalation. Over real HTTP:
test_escalation_http.py."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import Store, queue
from bot.store import conversations as stored
from bot.store.rows import add
from bot.tables import Assignment, Conversation, Customer
from routing import RoutingConfig
from tests.fakes.frontdesk import ROOT, always_open_text
from tests.fakes.harness import T0, Harness, config_from

CHARGED = "I was charged twice for my subscription this month"
PRIYA = "Priya Sharma (Billing specialist) will answer you here"
TAKES_OVER = (
    "Priya Sharma hasn't been able to answer yet, so Tomás García (Subscriptions and "
    "billing) is taking over and will answer you here."
)
OFFICE_HOURS = 'hours: {timezone: Europe/London, mon-fri: "09:00-17:30"}'
MONDAY_EVENING = datetime(2026, 11, 23, 17, 25, tzinfo=UTC)  # London is on UTC in November


def escalating_text(text: str, extra: str = "", *, remind_at: float = 0.5) -> str:
    """config.yml text whose conversations need a first reply within 15 minutes of work
    (unless a team says otherwise), with a reminder at `remind_at` of that."""
    text = re.sub(r"^escalation:.*\n", "", text, flags=re.MULTILINE)  # config.yml's
    escalation = f"{{first_reply_within: 15m, remind_at: {remind_at}}}"
    return f"{text}\nescalation: {escalation}\n{extra}"


def escalating(text: str, extra: str = "") -> RoutingConfig:
    return config_from(escalating_text(text, extra))


def around_the_clock(extra: str = "") -> RoutingConfig:
    return escalating(always_open_text(), extra)


def office_hours_text(extra: str = "") -> str:
    """Everyone at work Monday to Friday, 09:00-17:30 in London."""
    text = re.sub(r"hours: \{[^}]*\}", OFFICE_HOURS, (ROOT / "config.yml").read_text())
    return escalating_text(text, extra)


def office_hours(extra: str = "") -> RoutingConfig:
    return config_from(office_hours_text(extra))


def billing(text: str, fields: str) -> str:
    """`text` with the billing team's `slack_channel: null` replaced by `fields`."""
    team = "{id: billing, name: Billing, slack_channel: null}"
    return text.replace(team, team.replace(", slack_channel: null}", f", {fields}}}"))


def priya_off(text: str, day: str) -> str:
    """`text` with a personal holiday for Priya (the first employee of billing)."""
    return text.replace(
        "    teams: [billing]\n", f"    teams: [billing]\n    holidays: [{day}]\n", 1
    )


async def seed_replies(store: Store, employee: str, minutes: list[float], before: datetime) -> None:
    """Closed conversations `employee` had, from `before` back an hour apart, each first
    answered after `minutes` of work."""
    async with store.transaction() as connection:
        for i, taken in enumerate(minutes):
            customer = await add(connection, Customer(tags=[]))
            conversation = await add(
                connection,
                Conversation(customer_id=customer.id or 0, channel="chat", status="closed",
                             entities={}, offered=[]),
            )  # fmt: skip
            at = before - timedelta(hours=i)
            replied = at + timedelta(minutes=taken)
            await add(
                connection,
                Assignment(conversation_id=conversation.id or 0, employee_id=employee,
                           team_id="billing", reasons=[], assigned_at=at, first_reply_at=replied,
                           first_reply_seconds=taken * 60, ended_at=replied),
            )  # fmt: skip


async def test_the_promise_comes_from_how_fast_the_person_replied_lately(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await seed_replies(harness.store, "priya", [8, 9, 10, 11, 45], T0 - timedelta(days=2))
        await seed_replies(harness.store, "priya", [1] * 6, T0 - timedelta(days=40))  # too old
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        assert ada.saw[-1] == f"{PRIYA}. Priya usually replies within about 10 minutes."


async def test_too_few_replies_promise_only_the_hours(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await seed_replies(harness.store, "priya", [3, 4, 5, 6], T0 - timedelta(days=2))
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        assert ada.saw[-1] == f"{PRIYA}. Priya usually answers Mon-Sun 00:00-24:00 (Europe/London)."


async def test_a_reply_is_counted_in_working_time(tmp_path: Path) -> None:
    """Priya answers a message from 17:25 at 09:10 the next morning: 15 minutes of work."""
    async with Harness(tmp_path, config=office_hours()) as harness:
        harness.clock.now = MONDAY_EVENING
        await harness.customer("ada").says(CHARGED)
        harness.clock.now = datetime(2026, 11, 24, 9, 5, tzinfo=UTC)
        await harness.employee("priya").writes("Sorry for the wait, refunded.")
        assignment = await harness.query(lambda c: stored.latest_assignment(c, 1))
        assert assignment.first_reply_seconds == 600.0


async def test_a_reminder_then_the_next_person_takes_over(
    tmp_path: Path, database_url: str
) -> None:
    async with Harness(tmp_path, config=around_the_clock(), database_url=database_url) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        priya = harness.desk.thread_of("priya")
        seen = len(ada.saw)
        harness.clock.advance(minutes=7)
        await harness.settle()
        assert harness.desk.notes == []
        harness.clock.advance(seconds=30)
        await harness.settle()
        assert [(spot, text[:60]) for spot, text in harness.desk.notes] == [
            (priya, "Reminder: Visitor #1 is waiting for your first reply. Unless")
        ]
        assert "by today at 10:15 (Europe/London time)" in harness.desk.notes[0][1]
        assert "someone else in Billing" in harness.desk.notes[0][1]
        assert len(ada.saw) == seen  # the customer is not bothered with it

        harness.clock.advance(minutes=7, seconds=30)
        await harness.settle()
        card = harness.desk.cards[-1][1]
        assert card.employee.id == "tomas"
        assert any("had not replied within 15 minutes" in r for r in card.reasons)
        assert [line.text for line in card.transcript if line.kind == "customer"] == [CHARGED]
        assert ada.saw[seen:] == [f"{TAKES_OVER} Tomás usually answers Mon-Sun 00:00-24:00 "
                                  "(Europe/Madrid)."]  # fmt: skip
        old_spot, old_card, note = harness.desk.updates[-1]
        assert old_spot == priya
        assert (
            old_card.status
            == "Handed over to Tomás García: the customer had no first reply in time."
        )
        assert note is not None
        assert "no longer reach the customer" in note

        assert await harness.employee("priya").writes("late", in_thread=priya) == "internal"
        await harness.employee("tomas").writes("Tomás here, refunded.")
        assert ada.saw[-1] == "Tomás García: Tomás here, refunded."


async def test_a_teams_own_deadline_and_reminder_share_are_kept(tmp_path: Path) -> None:
    """Billing gives an hour, not the 15 minutes for everyone, and reminds at 0.8 of it."""
    text = escalating_text(billing(always_open_text(), "first_reply_within: 1h"), remind_at=0.8)
    async with Harness(tmp_path, config=config_from(text)) as harness:
        await harness.customer("ada").says(CHARGED)
        for minutes, notes, cards in [
            (15, 0, 1),
            (47.9, 0, 1),
            (48, 1, 1),
            (59.9, 1, 1),
            (60, 2, 2),
        ]:
            harness.clock.now = T0 + timedelta(minutes=minutes)
            await harness.settle()
            assert (len(harness.desk.notes), len(harness.desk.cards)) == (notes, cards), minutes
        reminder, handover = (note for _, note in harness.desk.notes)
        assert "by today at 11:00 (Europe/London time)" in reminder
        assert "Handed over to Tomás García" in handover
        card = harness.desk.cards[-1][1]
        assert card.employee.id == "tomas"
        assert any("had not replied within 1 hour of working time" in r for r in card.reasons)


async def test_a_reply_cancels_the_reminder_and_the_escalation(tmp_path: Path) -> None:
    async with Harness(tmp_path, config=around_the_clock()) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        harness.clock.advance(minutes=5)
        await harness.employee("priya").writes("On it!")
        harness.clock.advance(hours=2)
        await harness.settle()
        assert harness.desk.notes == []
        assert [card.employee.id for _, card in harness.desk.cards] == ["priya"]
        async with harness.store.reading() as connection:
            jobs = await queue.jobs(connection, "done")
        timers = [job for job in jobs if job.kind in {"reply.remind", "reply.escalate"}]
        assert len(timers) == 2  # each ran once, and did nothing


async def test_a_customer_waiting_overnight_is_told_when_and_not_escalated_at_night(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path, config=office_hours()) as harness:
        harness.clock.now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        assert "Priya is back tomorrow at 09:00 (Europe/London time)" in ada.saw[-1]
        harness.clock.now = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
        await harness.settle()
        assert harness.desk.notes == []
        assert len(harness.desk.cards) == 1
        harness.clock.now = datetime(2026, 11, 24, 9, 8, tzinfo=UTC)  # 7.5 minutes of work
        await harness.settle()
        assert len(harness.desk.notes) == 1
        harness.clock.now = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
        await harness.settle()
        assert harness.desk.cards[-1][1].employee.id == "tomas"
        assert TAKES_OVER in ada.saw[-1]


async def test_working_time_stops_at_the_end_of_the_day_and_skips_a_holiday(
    tmp_path: Path,
) -> None:
    """Handed over at 17:25 on Monday: 5 minutes of work that day. Tuesday becomes a
    company holiday after the timers were set: they wait until Wednesday 09:10."""
    async with Harness(tmp_path, config=office_hours()) as harness:
        harness.clock.now = MONDAY_EVENING
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        harness.config = office_hours("holidays: [2026-11-24]\n")
        harness.clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
        await harness.settle()
        assert (harness.desk.notes, len(harness.desk.cards)) == ([], 1)
        harness.clock.now = datetime(2026, 11, 25, 9, 3, tzinfo=UTC)
        await harness.settle()
        assert len(harness.desk.notes) == 1
        harness.clock.now = datetime(2026, 11, 25, 9, 9, tzinfo=UTC)
        await harness.settle()
        assert len(harness.desk.cards) == 1
        harness.clock.now = datetime(2026, 11, 25, 9, 10, tzinfo=UTC)
        await harness.settle()
        assert harness.desk.cards[-1][1].employee.id == "tomas"


async def test_a_person_on_holiday_is_passed_over(tmp_path: Path) -> None:
    config = config_from(priya_off(office_hours_text(), "2026-11-23"))
    async with Harness(tmp_path, config=config) as harness:
        await harness.customer("ada").says(CHARGED)
        card = harness.desk.cards[-1][1]
        assert card.employee.id == "tomas"
        assert any("Priya Sharma is outside working hours" in r for r in card.reasons)


async def test_with_nobody_else_available_the_team_channel_is_alerted(tmp_path: Path) -> None:
    text = billing(always_open_text(), "slack_channel: C0BILLING")
    async with Harness(tmp_path, config=escalating(text)) as harness:
        async with harness.store.transaction() as connection:
            await stored.set_away(connection, "tomas", True, T0)
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        seen = len(ada.saw)
        harness.clock.advance(minutes=15)
        await harness.settle()
        assert harness.desk.alerts == [
            (
                "billing",
                "Visitor #1 has had no reply from Priya Sharma within 15 minutes of working "
                "time, and nobody else in Billing is available: it stays with Priya Sharma.",
            )
        ]
        assert [card.employee.id for _, card in harness.desk.cards] == ["priya"]
        assert len(ada.saw) == seen
        assert await harness.employee("priya").writes("Here now.") == "delivered"


async def test_without_a_team_channel_the_alert_is_a_note_in_the_thread(tmp_path: Path) -> None:
    async with Harness(tmp_path, config=around_the_clock()) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        harness.clock.advance(minutes=15)
        await harness.settle()  # the reminder, then Tomás takes over
        tomas = harness.desk.thread_of("tomas")
        harness.clock.advance(minutes=15)
        await harness.settle()  # Tomás does not reply either: Priya did not, so nobody
        assert harness.desk.alerts == []
        assert (
            "nobody else in Billing is available: it stays with Tomás García"
            in (harness.desk.notes[-1][1])
        )
        assert harness.desk.notes[-1][0] == tomas
        assert [card.employee.id for _, card in harness.desk.cards] == ["priya", "tomas"]


async def test_a_restart_between_the_reminder_and_the_escalation_escalates_once(
    tmp_path: Path, database_url: str
) -> None:
    config, url = around_the_clock(), database_url
    async with Harness(tmp_path, config=config, database_url=url) as before:
        await before.customer("ada").says(CHARGED)
        before.clock.advance(minutes=8)
        await before.settle()
        assert len(before.desk.notes) == 1  # reminded; then the app stops
        stopped = before.clock.now
    # Two instances start over the same database, well after the escalation was due.
    async with (
        Harness(tmp_path, config=config, database_url=url) as one,
        Harness(tmp_path, config=config, database_url=url) as two,
    ):
        for instance in (one, two):
            instance.clock.now = stopped + timedelta(minutes=30)
        await asyncio.gather(one.settle(), two.settle())
        await asyncio.gather(one.settle(), two.settle())
        cards = [card for h in (one, two) for _, card in h.desk.cards]
        assert [card.employee.id for card in cards] == ["tomas"]
        told = [text for h in (one, two) for text in h.customer("ada").saw]
        assert [text for text in told if "taking over" in text] == [
            f"{TAKES_OVER} Tomás usually answers Mon-Sun 00:00-24:00 (Europe/Madrid)."
        ]
        updates = [spot for h in (one, two) for spot, _, _ in h.desk.updates]
        assert len(updates) == 1


async def test_erasing_the_customer_erases_the_alert_that_names_them(tmp_path: Path) -> None:
    text = billing(always_open_text(), "slack_channel: C0BILLING")
    async with Harness(tmp_path, config=escalating(text)) as harness:
        async with harness.store.transaction() as connection:
            await stored.set_away(connection, "tomas", True, T0)
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        harness.clock.advance(minutes=15)
        harness.desk.failing.append(RuntimeError("Slack is down"))  # the reminder waits
        await harness.settle()
        await harness.privacy.erase(await ada.id(), "a test")
        async with harness.store.reading() as connection:
            waiting = await queue.jobs(connection, "cancelled")
        # The reminder failed to post; the alert was queued behind it in the lane.
        assert {job.kind: job.payload for job in waiting} == {
            "thread.note": {"text": "[erased]", "at": None},
            "team.alert": {"team_id": "", "text": "[erased]"},
        }
        assert harness.desk.alerts == []
