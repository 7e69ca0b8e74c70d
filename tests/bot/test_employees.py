"""What employees do on their desk, through the core in memory: take-overs in a team
channel, replies that cannot be delivered, retried desk events, people who are not
in the config, facts remembered about a customer; then over real HTTP: `remember:` and
`forget:` sent as signed Slack events, and the next cards with and without the fact."""

import json
from pathlib import Path
from typing import Any

import pytest

from bot.facts import pick
from bot.outbox import RetryLater
from bot.store import queue
from bot.store.facts import remembered
from bot.tables import Fact
from routing import Target
from tests.bot.test_ratings import close
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, always_open_text, settings_for
from tests.fakes.harness import Harness, config_from
from tests.fakes.rasa import FakeRasa
from tests.fakes.slack import FakeSlack, send_event, thread_reply
from tests.fakes.visitor import Visitor

CRASHING = "the app keeps crashing every time I open my basket"
CHARGED = "I was charged twice for my subscription this month"
AGAIN = "I have another question about a payment on my invoice"


async def test_a_colleague_in_the_team_channel_takes_over_in_the_same_thread(
    tmp_path: Path,
) -> None:
    config = config_from(always_open_text(team_channel="C0SUPPORT"))
    async with Harness(tmp_path, config=config) as harness:
        ada = harness.customer("ada")
        await ada.says(CRASHING)
        spot, card = harness.desk.cards[-1]
        assert (card.employee.id, spot.place) == ("sam", "support")  # in the team's channel
        assert (
            await harness.employee("lena").writes("I know this one", in_thread=spot) == "internal"
        )
        assert await harness.employee("lena").takes_over(spot)
        assert "Sam Rivera has passed your conversation to Lena Novak" in ada.saw[-1]
        assert any(
            "Lena Novak took this conversation over" in text for _, text in harness.desk.notes
        )
        await harness.employee("sam").writes("Sam: let me check", in_thread=spot)
        await harness.employee("lena").writes("Clear the app cache.", in_thread=spot)
        assert ada.saw[-1] == "Lena Novak: Clear the app cache."
        assert not any("let me check" in text for text in ada.saw)
        assert len(harness.desk.cards) == 1  # no new card: the same thread
        assert not await harness.employee("lena").takes_over(spot)  # hers already


async def test_a_reply_that_cannot_reach_the_customer_is_reported_in_the_thread(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        harness.channel.blocked.add("ada")
        await harness.employee("priya").writes("Are you there?")
        (note,) = [text for _, text in harness.desk.notes]
        assert "did not reach the customer on the test chat" in note
        assert "Are you there?" in note
        async with harness.store.reading() as connection:
            failed = await queue.jobs(connection, "failed")
        assert [(job.kind, job.attempts) for job in failed] == [("customer.deliver", 1)]


async def test_a_retried_desk_event_is_handled_once(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        spot = harness.desk.thread_of("priya")
        conversation = harness.conversation_of(spot)
        outcomes = [
            await harness.employees.write(conversation, "priya", "Refunded!", "dm-priya:99")
            for _ in range(3)
        ]
        await harness.settle()
        assert outcomes == ["delivered", "duplicate", "duplicate"]
        assert ada.saw.count("Priya Sharma: Refunded!") == 1


async def test_replies_to_unknown_conversations_and_from_strangers(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await harness.customer("ada").says(CHARGED)
        assert await harness.employees.write(404, "priya", "hello?", "x:1") == "unknown"
        spot = harness.desk.thread_of("priya")
        stranger = harness.employee("priya")
        assert await stranger.writes("who is this customer?", as_="U0STRANGER") == "internal"
        assert await harness.employees.close(harness.conversation_of(spot), "U0STRANGER")
        await harness.settle()
        # Someone not in the config closes: the customer hears their contact's name.
        assert harness.customer("ada").saw[-1].startswith("Priya Sharma closed")
        update = harness.desk.updates[-1][1]
        assert update.status == "Closed by desk user U0STRANGER. A reply in this thread reopens it."
        note = next(line for line in update.transcript if line.kind == "note")
        assert note.author == "desk user U0STRANGER"


async def test_a_transfer_passes_over_the_person_who_transfers(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        await harness.employee("priya").transfers(Target(team="billing"))
        assert harness.desk.cards[-1][1].employee.id == "tomas"
        assert "has passed your conversation to Tomás García" in ada.saw[-1]


async def test_the_desk_being_down_delays_but_loses_nothing(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        harness.desk.failing = [RetryLater("desk down"), RetryLater("desk down")]
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        assert harness.desk.cards == []
        for _ in range(2):
            harness.clock.advance(seconds=5)  # past the backoff
            await harness.settle()
        assert len(harness.desk.cards) == 1


async def test_a_fact_remembered_in_the_thread_is_on_the_customers_next_cards(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path) as harness:
        ada, priya = harness.customer("ada"), harness.employee("priya")
        await ada.says(CHARGED)
        assert harness.desk.cards[-1][1].remembered == []
        assert await priya.writes("remember: prefers email for invoices") == "internal"
        assert await priya.writes("Remember: lives in Lisbon") == "internal"
        told = [text for _, text in harness.desk.notes]
        assert told[0].startswith("Remembered as fact 1: prefers email for invoices.")
        assert "`forget: 2` removes it" in told[1]
        assert not any("email" in text or "Lisbon" in text for text in ada.saw)
        await priya.closes()
        await ada.says(AGAIN)
        card = harness.desk.cards[-1][1]
        assert [(f.text, f.by) for f in card.remembered] == [
            ("prefers email for invoices", "Priya Sharma"), ("lives in Lisbon", "Priya Sharma")
        ]  # fmt: skip
        assert await priya.writes("forget: 3") == "internal"
        assert await priya.writes("forget: LISBON") == "internal"
        assert [text for _, text in harness.desk.notes][-2:] == [
            "There is no remembered fact 3: there are 2 facts.",
            "Forgot fact 2: lives in Lisbon",
        ]
        await priya.closes()
        await ada.says(CHARGED)
        assert [f.text for f in harness.desk.cards[-1][1].remembered] == [
            "prefers email for invoices"
        ]
        assert not any("email" in text or "Lisbon" in text for text in ada.saw)


@pytest.mark.parametrize(
    ("what", "answer"),
    [
        ("", "Say which fact to forget: its number on the card (`forget: 1`), or its words."),
        ("0", "There is no remembered fact 0: there are 3 facts."),
        ("phone", 'No remembered fact says "phone": there are 3 facts.'),
        ("invoices", 'Facts 1, 2, 3 all say "invoices": forget one by its number (`forget: 1`).'),
        ("Invoices by post", "invoices by post"),  # its words: chosen over a longer one
        ("email", "prefers email for invoices"),
    ],
)
def test_which_fact_forget_means(what: str, answer: str) -> None:
    known = [
        Fact(id=n, customer_id=1, text=text)
        for n, text in enumerate(
            ["prefers email for invoices", "invoices by post", "invoices by post, twice"], 1
        )
    ]
    found = pick(known, what)
    assert (found if isinstance(found, str) else found.text) == answer


async def test_remembered_facts_are_exported_and_erased_with_the_customer(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        await harness.employee("priya").writes("remember: allergic to phone calls")
        exported = await harness.privacy.export(await ada.id())
        assert [(f["text"], f["employee_id"]) for f in exported["facts"]] == [
            ("allergic to phone calls", "priya")
        ]
        await harness.privacy.erase(await ada.id(), "a test")
        await harness.settle()
        async with harness.store.reading() as connection:
            assert await remembered(connection, await ada.id()) == []
        assert (await harness.privacy.export(await ada.id()))["facts"] == []


# Over real HTTP ---------------------------------------------------------------------


async def nth_card(slack: FakeSlack, n: int) -> dict[str, Any]:
    """The n-th card on the desk (1 for the first), once it is there."""

    async def found() -> list[dict[str, Any]] | None:
        cards = [p for p in slack.posts if p.get("blocks") and not p.get("thread_ts")]
        return cards if len(cards) >= n else None

    return (await eventually(found))[n - 1]  # type: ignore[index]


async def answered(
    app: Frontdesk, slack: FakeSlack, posted: dict[str, Any], text: str, answer: str
) -> str:
    """The employee writes `text` in the card's thread (a signed event to the app); the
    app's answer there, the post that has `answer` in it."""
    employee = posted["channel"][1:]
    event = thread_reply(posted["channel"], posted["ts"], employee, text)
    assert (await send_event(app.url, event)).status_code == 200

    async def found() -> list[str]:
        thread = slack.posts_in(posted["channel"], posted["ts"])
        return [p["text"] for p in thread if answer in p["text"]]

    (line,) = await eventually(found)  # type: ignore[misc]
    return str(line)


async def test_remember_and_forget_from_slack_show_on_and_leave_the_next_cards(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, slack: FakeSlack
) -> None:
    settings = settings_for(database_url, always_open_config(tmp_path), fake_rasa.url, slack.url)
    async with Frontdesk(settings) as app, Visitor(app.url) as visitor:
        await visitor.say(CHARGED)
        first = await nth_card(slack, 1)
        assert "Remembered" not in json.dumps(first["blocks"])
        told = await answered(app, slack, first, "remember: prefers email for invoices", "fact 1")
        assert told.startswith(":warning: Remembered as fact 1: prefers email for invoices.")
        await close(app.url, slack, first)

        await visitor.say(AGAIN)
        second = await nth_card(slack, 2)
        remembered_block = [
            b["text"]["text"]
            for b in second["blocks"]
            if b.get("type") == "section" and "*Remembered*" in b["text"]["text"]
        ]
        assert len(remembered_block) == 1
        assert remembered_block[0].startswith("*Remembered*\n1. prefers email for invoices _(")
        assert await answered(app, slack, second, "forget: 1", "Forgot") == (
            ":warning: Forgot fact 1: prefers email for invoices"
        )
        await close(app.url, slack, second)

        await visitor.say(CHARGED)
        third = await nth_card(slack, 3)
        assert "Remembered" not in json.dumps(third["blocks"])
        assert "prefers email" not in json.dumps(third["blocks"])
        seen = [m["text"] for m in visitor.messages]
        assert not any("email" in text or "Remembered" in text for text in seen)
