"""Availability from Slack (bot/slack_presence.py): with config.yml's `presence:
{from_slack: true}` someone Slack shows away is passed over, the reason named; Slack's
429 costs nothing but that knowledge; `/frontdesk away|back` sets the away flag. Real
HTTP: the app, a widget visitor and the Slack double."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.slack_presence import AWAY, BACK, STRANGER, USAGE, absence
from tests.bot.test_admin import call
from tests.bot.test_handoff import card_text, cards
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk, always_open_config, always_open_text
from tests.fakes.harness import Harness
from tests.fakes.slack import FakeSlack, slash_command
from tests.fakes.visitor import Visitor

CHARGED = "I was charged twice for my subscription this month"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
HOUR = 3600


async def presence_from_slack(frontdesk: Frontdesk, tmp_path: Path) -> None:
    """The test config (every employee at work), with presence from Slack switched on."""
    always_open_config(tmp_path, more="presence: {from_slack: true}\n")
    assert (await call(frontdesk, "POST", "/admin/config/reload")).status_code == 200


async def billing_card(frontdesk: Frontdesk, slack: FakeSlack) -> dict[str, Any]:
    """A visitor is charged twice (billing: Priya, then Tomás); the card it gets."""
    before = len(cards(slack))
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CHARGED)

        async def card() -> list[dict[str, Any]]:
            return cards(slack)[before:]

        return (await eventually(card))[0]  # type: ignore[index,no-any-return]


async def test_someone_away_in_slack_is_passed_over_with_the_reason(
    frontdesk: Frontdesk, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.away.add("U0PRIYA01")
    await presence_from_slack(frontdesk, tmp_path)
    for _ in range(2):  # Priya would be first, by the config and by load
        card = await billing_card(frontdesk, slack)
        assert card["channel"] == "DU0TOMAS01"
        passed = "Passed over in Billing: Priya Sharma is away in Slack."
        assert passed in card_text(card)
    # Both asked about once, the second time answered from the cache.
    assert slack.calls.count("users.getPresence") == slack.calls.count("dnd.info") == 2
    (tmp_path / "config.yml").write_text(always_open_text())  # switched off again
    assert (await call(frontdesk, "POST", "/admin/config/reload")).status_code == 200
    assert (await billing_card(frontdesk, slack))["channel"] == "DU0PRIYA01"
    assert slack.calls.count("users.getPresence") == 2


async def test_a_429_from_slack_presence_does_not_break_routing(
    frontdesk: Frontdesk, slack: FakeSlack, tmp_path: Path
) -> None:
    await presence_from_slack(frontdesk, tmp_path)
    slack.away.add("U0PRIYA01")
    slack.fail_next("users.getPresence", 429, times=2, retry_after=30)
    # Slack cannot tell now: nothing is held against Priya, who is first in the config.
    assert (await billing_card(frontdesk, slack))["channel"] == "DU0PRIYA01"
    assert (await billing_card(frontdesk, slack))["channel"] == "DU0TOMAS01"  # fewest open
    assert slack.calls.count("users.getPresence") == 2  # none within Retry-After


async def test_the_slash_command_sets_the_away_flag(frontdesk: Frontdesk, slack: FakeSlack) -> None:
    async def say(user: str, text: str) -> str:
        answer = await slash_command(frontdesk.url, user, text)
        assert answer.status_code == 200
        return answer.text

    assert STRANGER in await say("U0STRANGER", "away")
    assert USAGE.replace("`", "") in (await say("U0PRIYA01", "lunch")).replace("`", "")
    assert AWAY.replace("`", "") in (await say("U0PRIYA01", " Away ")).replace("`", "")

    async def priya_away() -> bool:
        roster = (await call(frontdesk, "GET", "/admin/roster")).json()
        return next(p["away"] for p in roster["employees"] if p["id"] == "priya")  # type: ignore[no-any-return]

    assert await priya_away()
    card = await billing_card(frontdesk, slack)
    assert card["channel"] == "DU0TOMAS01"
    assert "Priya Sharma is away" in card_text(card)
    assert BACK in await say("U0PRIYA01", "back")
    assert not await priya_away()


@pytest.mark.parametrize(
    ("presence", "dnd", "why"),
    [
        ({"presence": "active"}, {"dnd_enabled": False}, None),
        ({"presence": "away"}, {}, "away in Slack"),
        (
            {"presence": "active"},
            {
                "dnd_enabled": True,
                "next_dnd_start_ts": NOW.timestamp() - HOUR,
                "next_dnd_end_ts": NOW.timestamp() + HOUR,
            },
            "in do-not-disturb hours in Slack",
        ),
        (
            {"presence": "active"},
            {
                "dnd_enabled": True,
                "next_dnd_start_ts": NOW.timestamp() + HOUR,
                "next_dnd_end_ts": NOW.timestamp() + 9 * HOUR,
            },
            None,
        ),
        (
            {"presence": "active"},
            {"dnd_enabled": True, "snooze_enabled": True},
            "on do not disturb in Slack",
        ),
        ({}, {"next_dnd_start_ts": "soon"}, None),  # odd answers: cannot tell
    ],
)
def test_what_slack_says_about_someone(
    presence: dict[str, Any], dnd: dict[str, Any], why: str | None
) -> None:
    assert absence(presence, dnd, NOW) == why


async def test_the_core_asks_the_desk_who_is_there(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        harness.desk.absent["priya"] = "away in Slack"
        await harness.customer("ada").says(CHARGED)
        card = harness.desk.cards[-1][1]
        assert card.employee.id == "tomas"
        assert "Passed over in Billing: Priya Sharma is away in Slack." in card.reasons
