"""Learning from employees: a transfer suggests the customer's first message as a
training example of the intent that fitted (the target team's only one, or the one the
employee picked in Slack's transfer menu), counted with the same words, erased with
the customer; and the menu that offers the pick."""

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.cards import card, to_transfer
from bot.store import Connection
from bot.suggestions import Group, Suggestions, grouped, normalise
from bot.tables import Suggestion, suggestions
from routing import Target
from routing.intents import intents_to
from tests.bot.test_cards import CONFIG, view
from tests.bot.test_handoff import one_card
from tests.conftest import eventually
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.harness import MEANINGS, Harness, understood
from tests.fakes.slack import FakeSlack, press
from tests.fakes.visitor import Visitor

GIFT_CARDS = "do you sell gift cards for a whole company"  # sales, taken for billing
BROKEN = "order 48213 came broken, I want my money back"  # refund, taken for an order
SHOUTED = "Do you SELL gift cards for a whole company?"  # the same words
CRASHING = "the app keeps crashing every time I open my basket"
MEANS = {
    **MEANINGS,
    GIFT_CARDS: understood("billing", 0.71),
    SHOUTED: understood("billing", 0.64),
    BROKEN: understood("order_status", 0.82, order_id="48213"),
}


async def stored(harness: Harness) -> list[Suggestion]:
    async def read(connection: Connection) -> list[Suggestion]:
        found = await connection.execute(select(suggestions).order_by(suggestions.c.id))
        return [Suggestion.model_validate(row._mapping) for row in found.all()]

    result: list[Suggestion] = await harness.query(read)
    return result


def test_the_rules_say_which_intents_lead_to_a_team_or_a_person() -> None:
    assert intents_to(CONFIG, Target(team="billing")) == (
        "refund",
        "billing",
        "cancel_subscription",
    )
    assert intents_to(CONFIG, Target(team="sales")) == ("sales",)
    assert intents_to(CONFIG, Target(team="orders")) == ("order_status",)
    # A person: rules naming them, and their teams'.
    assert intents_to(CONFIG, Target(employee="diego")) == ("sales",)
    assert intents_to(CONFIG, Target(employee="jonas")) == ("order_status",)
    assert intents_to(CONFIG, Target(employee="sam")) == (
        "technical_support",
        "account_access",
        "complaint",
    )
    assert intents_to(CONFIG, Target(employee="nobody")) == ()


async def test_a_transfer_to_a_team_with_one_intent_suggests_the_first_message(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path, meanings=MEANS) as harness:
        ada = harness.customer("ada")
        await ada.says(GIFT_CARDS)
        await ada.says("it is for 40 people")
        first = harness.desk.cards[-1][1].employee.id
        await harness.employee(first).writes("note: this is one for sales")
        await harness.employee(first).transfers(Target(team="sales"))
        [suggested] = await stored(harness)
        assert (suggested.text, suggested.suggested_intent) == (GIFT_CARDS, "sales")
        assert (suggested.original_intent, suggested.original_confidence) == ("billing", 0.71)
        assert (suggested.employee_id, suggested.status) == (first, "suggested")
        assert suggested.created_at == harness.clock.now
        assert suggested.customer_id == await ada.id()


async def test_a_team_with_several_intents_takes_the_one_the_employee_picked(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path, meanings=MEANS) as harness:
        ada, bo, cy = harness.customer("ada"), harness.customer("bo"), harness.customer("cy")
        for customer in (ada, bo, cy):
            await customer.says(BROKEN)
        spots = [spot for spot, _ in harness.desk.cards]
        owners = [c.employee.id for _, c in harness.desk.cards]
        await harness.employee(owners[0]).transfers(
            Target(team="billing"), spots[0], intent="refund"
        )
        # Not picked, or picked but not one the rules send there: nothing to learn.
        await harness.employee(owners[1]).transfers(Target(team="billing"), spots[1])
        await harness.employee(owners[2]).transfers(
            Target(team="billing"), spots[2], intent="sales"
        )
        [suggested] = await stored(harness)
        assert suggested.suggested_intent == "refund"
        assert suggested.customer_id == await ada.id()


async def test_nothing_to_learn_when_the_nlu_was_sure_and_right_or_the_conversation_closed(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path, meanings=MEANS) as harness:
        ada, bo = harness.customer("ada"), harness.customer("bo")
        await ada.says("I was charged twice for my subscription this month")  # billing, 95%
        billing = harness.employee(harness.desk.cards[-1][1].employee.id)
        await billing.transfers(Target(team="billing"), intent="billing")  # to a colleague
        await bo.says(GIFT_CARDS)
        spot = harness.desk.cards[-1][0]
        owner = harness.employee(harness.desk.cards[-1][1].employee.id)
        assert await owner.closes(spot)
        await owner.transfers(Target(team="sales"), spot)
        assert await stored(harness) == []


async def test_the_same_words_are_counted_and_a_second_transfer_replaces_the_first(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path, meanings=MEANS) as harness:
        ada, bo = harness.customer("ada"), harness.customer("bo")
        await ada.says(GIFT_CARDS)
        await bo.says(SHOUTED)
        [(ada_spot, ada_card), (bo_spot, bo_card)] = harness.desk.cards
        await harness.employee(ada_card.employee.id).transfers(Target(team="orders"), ada_spot)
        await harness.employee(bo_card.employee.id).transfers(Target(team="sales"), bo_spot)
        # The conversation that went to Orders by mistake goes on to Sales.
        orders = harness.desk.cards[2]
        await harness.employee(orders[1].employee.id).transfers(Target(team="sales"), orders[0])
        rows = await stored(harness)
        assert [(r.suggested_intent, r.employee_id) for r in rows] == [
            ("sales", orders[1].employee.id),
            ("sales", bo_card.employee.id),
        ]
        [group] = await Suggestions(harness.store).groups()
        assert (group.count, group.text, group.intent) == (2, GIFT_CARDS, "sales")
        assert group.was == (("billing", 0.71), ("billing", 0.64))


async def test_a_decided_example_stays_decided_when_suggested_again(tmp_path: Path) -> None:
    async with Harness(tmp_path, meanings=MEANS) as harness:
        review = Suggestions(harness.store, harness.clock)
        await harness.customer("ada").says(GIFT_CARDS)
        await harness.employee(harness.desk.cards[-1][1].employee.id).transfers(
            Target(team="sales")
        )
        groups, unknown = await review.waiting([1, 99])
        assert ([g.id for g in groups], unknown) == ([1], [99])
        await review.decide(groups, "rejected", "the command line")
        await harness.customer("bo").says(SHOUTED)
        await harness.employee(harness.desk.cards[-1][1].employee.id).transfers(
            Target(team="sales")
        )
        [group] = await review.groups()
        assert (group.status, group.count) == ("rejected", 2)
        assert await review.waiting([2]) == ([], [2])


async def test_erasing_a_customer_erases_their_suggestions(tmp_path: Path) -> None:
    async with Harness(tmp_path, meanings=MEANS) as harness:
        ada, bo = harness.customer("ada"), harness.customer("bo")
        await ada.says(GIFT_CARDS)
        await bo.says(BROKEN)
        for spot, view_ in list(harness.desk.cards):
            await harness.employee(view_.employee.id).transfers(Target(team="sales"), spot)
        assert len(await stored(harness)) == 2
        exported = await harness.privacy.export(await ada.id())
        assert [s["text"] for s in exported["suggestions"]] == [GIFT_CARDS]
        await harness.privacy.erase(await ada.id(), "the command line")
        assert [s.text for s in await stored(harness)] == [BROKEN]


def test_examples_are_counted_by_their_words() -> None:
    assert normalise("  Do you SELL gift-cards?! ") == "do you sell gift cards"
    rows = [
        Suggestion(id=i, conversation_id=i, customer_id=i, text=t, normalised=normalise(t),
                   suggested_intent=intent, employee_id="priya")
        for i, t, intent in [(1, "Refund me", "refund"), (2, "refund me!", "refund"),
                             (3, "refund me", "billing")]
    ]  # fmt: skip
    assert [(g.id, g.ids, g.intent) for g in grouped(rows)] == [
        (1, (1, 2), "refund"),
        (3, (3,), "billing"),
    ]
    assert isinstance(grouped(rows)[0], Group)


def menu(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    actions = next(b for b in blocks if b["type"] == "actions")
    select_ = next(e for e in actions["elements"] if e["type"] == "static_select")
    teams = select_["option_groups"][0]["options"]
    return [(o["text"]["text"], o["value"]) for o in teams]


def test_the_transfer_menu_offers_a_pick_for_a_team_with_several_intents() -> None:
    assert menu(card(view(), CONFIG)[1])[:5] == [
        ("Billing", "team:billing"),
        ("Billing: A refund or return", "team:billing:refund"),
        ("Billing: Payments and invoices", "team:billing:billing"),
        ("Billing: Cancelling Acme Plus", "team:billing:cancel_subscription"),
        ("Orders & Delivery", "team:orders"),
    ]
    assert ("Sales", "team:sales") in menu(card(view(), CONFIG)[1])
    assert not [v for _, v in menu(card(view(), CONFIG)[1]) if v.startswith("team:sales:")]


@pytest.mark.parametrize(
    ("value", "chosen"),
    [
        ("team:billing", (Target(team="billing"), None)),
        ("team:billing:refund", (Target(team="billing"), "refund")),
        ("employee:sam", (Target(employee="sam"), None)),
        ("team:gone", None),
        ("employee:sam:refund", None),
        ("employee:nobody", None),
        ("nonsense", None),
        ("", None),
    ],
)
def test_a_menu_choice_reads_as_a_target_and_a_pick(
    value: str, chosen: tuple[Target, str | None] | None
) -> None:
    assert to_transfer(value, CONFIG) == chosen


async def test_a_pick_in_slacks_transfer_menu_becomes_a_suggestion(
    frontdesk: Frontdesk, slack: FakeSlack
) -> None:
    async with Visitor(frontdesk.url) as visitor:
        await visitor.say(CRASHING)
        first = await one_card(slack)
        offered = json.dumps(first["blocks"])
        assert '"value": "team:billing:refund"' in offered
        pick = {"action_id": "frontdesk_transfer", "type": "static_select",
                "block_id": "conversation:1", "selected_option": {"value": "team:billing:refund"}}  # fmt: skip
        assert (await press(frontdesk.url, first["channel"][1:], pick)).status_code == 200

        async def suggested() -> list[Any]:
            async with frontdesk.store.reading() as connection:
                return list((await connection.execute(select(suggestions))).all())

        [row] = await eventually(suggested)  # type: ignore[misc]
        assert (row.text, row.suggested_intent, row.original_intent) == (
            CRASHING,
            "refund",
            "technical_support",
        )
