"""A returning customer whose usual person cannot answer now chooses (bot/handoff.py):
wait for them, told when they are back, or talk to the named stand-in now. Through the
core in memory, with the harness's clock."""

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.store import conversations as stored
from tests.bot.test_admin import call
from tests.bot.test_handoff import card_text, cards, one_card
from tests.conftest import eventually
from tests.fakes.frontdesk import ROOT, Frontdesk, always_open_text
from tests.fakes.harness import T0, Customer, Harness, config_from
from tests.fakes.slack import FakeSlack, press
from tests.fakes.visitor import Visitor

CHARGED = "I was charged twice for my subscription this month"
AGAIN = "I have another question about a payment on my invoice"
OFFICE_HOURS = 'hours: {timezone: Europe/London, mon-fri: "09:00-17:30"}'
ASKED_AWAY = (
    "Priya Sharma helped you last time but is away. Would you like to wait for Priya, "
    "or talk to Tomás García (Subscriptions and billing) now?"
)


async def returning_while_priya_is_away(harness: Harness) -> Customer:
    """Ada had Priya before; now Priya is away. (The customer returned writes on.)"""
    ada = harness.customer("ada")
    await ada.says(CHARGED)
    await harness.employee("priya").writes("Refunded.")
    await harness.employee("priya").closes()
    async with harness.store.transaction() as connection:
        await stored.set_away(connection, "priya", True, T0)
    await ada.says(AGAIN)
    return ada


async def test_the_customer_is_asked_and_no_one_has_it_yet(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        asked = (await returning_while_priya_is_away(harness)).received[-1]
        assert asked.text == ASKED_AWAY
        assert asked.quick_replies == ("Wait for Priya", "Talk to Tomás now")
        assert len(harness.desk.cards) == 1  # the first conversation's only
        conversation = await harness.query(lambda c: stored.conversation(c, 2))
        assert (conversation.status, conversation.employee_id) == ("triage", None)


@pytest.mark.parametrize(
    ("answer", "employee", "told"),
    [
        (
            "Talk to Tomás now",
            "tomas",
            "Priya Sharma helped you last time but is away, so Tomás García (Subscriptions "
            "and billing) will answer you here.",
        ),
        (
            "talk to tomás now ",
            "tomas",
            "Priya Sharma helped you last time but is away, so Tomás García",
        ),
        (
            "Wait for Priya",
            "priya",
            "Welcome back! Priya Sharma, who helped you last time, will answer you here. "
            "Priya is away right now; your message is saved and will be answered.",
        ),
        ("I'll wait for Priya, thanks", "priya", "Welcome back! Priya Sharma"),
        ("whoever is there", "tomas", "Priya Sharma helped you last time but is away, so Tomás"),
    ],
)
async def test_the_answer_routes(tmp_path: Path, answer: str, employee: str, told: str) -> None:
    async with Harness(tmp_path) as harness:
        ada = await returning_while_priya_is_away(harness)
        await ada.says(answer)
        assert ada.saw[-1].startswith(told)
        spot, card = harness.desk.cards[-1]
        assert card.employee.id == employee
        said = [line.text for line in card.transcript if line.kind == "customer"]
        assert said == [AGAIN, answer]
        if employee == "priya":
            assert "The customer chose to wait for Priya Sharma, who helped them before." in (
                card.reasons
            )
        await ada.says("any news?")
        assert harness.desk.in_thread(spot) == ["any news?"]


async def test_waiting_for_someone_off_work_says_when_they_are_back(tmp_path: Path) -> None:
    """Priya is on holiday on Tuesday; Tomás works."""
    text = re.sub(r"hours: \{[^}]*\}", OFFICE_HOURS, (ROOT / "config.yml").read_text())
    text = text.replace(
        "    teams: [billing]\n", "    teams: [billing]\n    holidays: [2026-11-24]\n", 1
    )
    async with Harness(tmp_path, config=config_from(text)) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        await harness.employee("priya").closes()
        harness.clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
        await ada.says(AGAIN)
        assert ada.saw[-1] == (
            "Priya Sharma helped you last time but is not working until tomorrow at 09:00 "
            "(Europe/London time). Would you like to wait for Priya, or talk to Tomás García "
            "(Subscriptions and billing) now?"
        )
        await ada.says("Wait for Priya")
        assert ada.saw[-1] == (
            "Welcome back! Priya Sharma, who helped you last time, will answer you here. "
            "Priya is back tomorrow at 09:00 (Europe/London time). Your message is saved, so "
            "you can close this window."
        )
        assert harness.desk.cards[-1][1].employee.id == "priya"


async def test_switched_off_the_stand_in_answers_without_asking(tmp_path: Path) -> None:
    text = always_open_text().replace("ask_to_wait: true", "ask_to_wait: false")
    async with Harness(tmp_path, config=config_from(text)) as harness:
        await returning_while_priya_is_away(harness)
        assert (
            harness.customer("ada")
            .saw[-1]
            .startswith("Priya Sharma helped you last time but is away, so Tomás García")
        )
        assert harness.desk.cards[-1][1].employee.id == "tomas"


@pytest.mark.parametrize(
    ("answer", "desk"), [("Wait for Priya", "DU0PRIYA01"), ("Talk to Tomás now", "DU0TOMAS01")]
)
async def test_over_http_the_choice_routes(
    frontdesk: Frontdesk, slack: FakeSlack, answer: str, desk: str
) -> None:
    """The real app, a widget visitor, the Slack double and the admin API."""
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED)
        first = await one_card(slack)
        assert first["channel"] == "DU0PRIYA01"
        close = {"action_id": "frontdesk_close", "type": "button", "value": "1"}
        assert (await press(frontdesk.url, "U0PRIYA01", close)).status_code == 200
        await visitor.message(lambda m: m.get("text", "").startswith("Priya Sharma closed"))
        away = await call(frontdesk, "PUT", "/admin/employees/priya/away", json={"away": True})
        assert away.status_code == 200

        await visitor.say(AGAIN)
        asked = await visitor.message(lambda m: bool(m.get("quick_replies")))
        assert asked["text"] == ASKED_AWAY
        assert asked["quick_replies"] == ["Wait for Priya", "Talk to Tomás now"]
        await visitor.say(answer)

        async def second_card() -> list[dict[str, Any]]:
            return [card for card in cards(slack) if card["ts"] != first["ts"]]

        card = (await eventually(second_card))[0]  # type: ignore[index]
        assert card["channel"] == desk
        assert answer in card_text(card)
