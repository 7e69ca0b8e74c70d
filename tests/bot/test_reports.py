"""The report's figures from conversations run through the core in memory (the
harness's clock), checked against counts made by hand."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.figures import Period
from bot.replays import candidate, what_if
from bot.reports import report
from bot.store import conversations as stored
from routing import Target
from tests.fakes.frontdesk import always_open_text
from tests.fakes.harness import T0, Harness

CHARGED = "I was charged twice for my subscription this month"
AGAIN = "I have another question about a payment on my invoice"
ORDER = "where is my order 12345"
DAY = Period(T0 - timedelta(hours=1), T0 + timedelta(days=1))


async def a_morning(harness: Harness) -> None:
    """Everyone works around the clock, so working time is wall time:
    10:00 Ada (billing) -> Priya, who replies after 4 min and closes.
    10:10 Ben (order) -> Amara, who replies after 10 min and transfers him to billing
          -> Tomás (never given one yet), who replies after 2 min.
    10:30 Ada again -> Priya, her person (reached), who replies after 6 min and closes.
    10:45 Priya is away; Ada a third time: asked, she talks to Tomás now (missed: away);
          Tomás has not replied."""
    ada, ben, clock = harness.customer("ada"), harness.customer("ben"), harness.clock
    priya, amara, tomas = (harness.employee(e) for e in ("priya", "amara", "tomas"))
    await ada.says(CHARGED)
    clock.advance(minutes=4)
    await priya.writes("Refunded.")
    await priya.closes()
    clock.now = T0 + timedelta(minutes=10)
    await ben.says(ORDER)
    clock.advance(minutes=10)
    await amara.writes("Let me pass you to billing.")
    await amara.transfers(Target(team="billing"))
    clock.advance(minutes=2)
    await tomas.writes("Hello Ben.")
    clock.now = T0 + timedelta(minutes=30)
    await ada.says(AGAIN)
    clock.advance(minutes=6)
    await priya.writes("Sorted.")
    await priya.closes()
    clock.now = T0 + timedelta(minutes=45)
    async with harness.store.transaction() as connection:
        await stored.set_away(connection, "priya", True, clock.now)
    await ada.says(CHARGED)
    await ada.says("Talk to Tomás now")


def rows(table: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(row[k] for k in keys) for row in table]


async def test_first_response_continuity_and_transfers_as_counted_by_hand(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path) as harness:
        await a_morning(harness)
        parts = await report(harness.store, harness.config, DAY)
    times = ("replies", "waiting", "p50_seconds", "p90_seconds")
    # Priya 240 and 360 s: median 300, p90 240 + 0.9 * 120. Billing: 120, 240, 360.
    assert rows(parts["first_response_people"], "employee", "name", *times) == [
        ("amara", "Amara Okafor", 1, 0, 600.0, 600.0),
        ("priya", "Priya Sharma", 2, 0, 300.0, 348.0),
        ("tomas", "Tomás García", 1, 1, 120.0, 120.0),
    ]
    assert rows(parts["first_response_teams"], "team", *times) == [
        ("billing", 3, 1, 240.0, 336.0),
        ("orders", 1, 0, 600.0, 600.0),
    ]
    assert rows(parts["first_response_trend"], "period_start", "replies") == [("2026-11-23", 4)]
    # Ada came back twice: once to Priya, once while Priya was away.
    assert rows(parts["continuity"], "outcome", "conversations", "share") == [
        ("reached", 1, 0.5),
        ("away", 1, 0.5),
        ("off_shift", 0, 0.0),
        ("at_capacity", 0, 0.0),
        ("rule_elsewhere", 0, 0.0),
        ("left", 0, 0.0),
    ]
    assert parts["transfers"] == [
        {"topic": "order_status", "from_team": "orders", "to_team": "billing", "transfers": 1}
    ]
    assert rows(parts["topics"], "topic", "conversations", "previous", "change_percent") == [
        ("billing", 3, 0, None),
        ("order_status", 1, 0, None),
    ]


async def test_a_day_before_the_period_is_the_previous_one(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await a_morning(harness)
        later = Period(T0 + timedelta(days=1), T0 + timedelta(days=2), "week")
        harness.clock.now = T0 + timedelta(days=1, hours=1)
        await harness.customer("cy").says(CHARGED)
        parts = await report(harness.store, harness.config, later)
    # Monday to Tuesday: the week of Monday 23rd; one billing now, three the day before.
    assert parts["volume"] == [
        {"period_start": "2026-11-23", "topic": "billing", "conversations": 1}
    ]
    assert rows(parts["topics"], "topic", "conversations", "previous", "change_percent") == [
        ("billing", 1, 3, -66.7),
        ("order_status", 0, 1, -100.0),
    ]


async def test_what_the_bot_did_not_understand_and_how_customers_feel(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        eve, fay = harness.customer("eve"), harness.customer("fay")
        await eve.says("do you ship to Iceland")  # unsure: a clarifying question
        await eve.says("shipping to Iceland please")  # still unsure: the fallback
        await fay.says(CHARGED)
        await fay.says("this is unacceptable")
        parts = await report(harness.store, harness.config, DAY)
    assert rows(parts["not_understood"], "words", "conversations", "previous", "new") == [
        ("iceland ship", 1, 0, True)
    ]
    assert parts["not_understood"][0]["examples"] == [
        {"conversation_id": 1, "snippet": "do you ship to Iceland"}
    ]
    # Eve's messages carry no listed words (0.0 each); Fay's "charged twice" and
    # "unacceptable" are all negative (-1.0 each).
    assert rows(parts["sentiment_topics"], "topic", "messages", "average") == [
        ("(unknown)", 2, 0.0),
        ("billing", 2, -1.0),
    ]
    assert rows(parts["most_negative"], "conversation_id", "topic", "average", "worst") == [
        (2, "billing", -1.0, CHARGED)
    ]


async def test_replaying_a_candidate_over_the_stored_morning(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        await a_morning(harness)
        text = always_open_text().replace(
            "    when: {intent: [refund, billing, cancel_subscription]}\n    to: {team: billing}",
            "    when: {intent: [refund, billing, cancel_subscription]}\n    to: {employee: tomas}",
        )
        found = await what_if(harness.store, harness.config, candidate(text), DAY.start, DAY.end)
    # Routed: Ada 10:00, Ben 10:10, Ada 10:30, Ada 10:45 (nobody away in a replay, so
    # the running config gives all three of Ada's to Priya; the third went to Tomás).
    assert (found["conversations"], found["other_person"], found["other_team"]) == (4, 3, 0)
    assert found["as_stored"] == 3
    money = next(r for r in found["rules"] if r["rule"] == "refunds, invoices and subscriptions")
    assert (money["before"], money["after"], money["moved"]) == (3, 3, 3)
    example = money["examples"][0]
    assert example["snippet"] == CHARGED
    assert (example["before"]["employee"], example["after"]["employee"]) == ("priya", "tomas")
    load = {r["employee"]: (r["before_assigned"], r["after_assigned"]) for r in found["load"]}
    assert load == {"priya": (3, 0), "tomas": (0, 3), "amara": (1, 1)}
    assert found["to_fallback"] == {"conversations": 0, "examples": []}
