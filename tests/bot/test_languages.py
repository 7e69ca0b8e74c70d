"""Customers who write in another language than the training data (English) still reach
the right team, and the language they write in picks who answers: the real Rasa server
with the shipped model, through the widget (which tells nothing of a language)."""

import pytest

from tests.bot.test_handoff import card_text, one_card
from tests.fakes.frontdesk import Frontdesk
from tests.fakes.slack import FakeSlack
from tests.fakes.visitor import Visitor


@pytest.mark.parametrize(
    ("text", "employee", "reason"),
    [
        # order_status in German: the rule for German-speaking delivery questions
        ("Wo ist meine Bestellung 12345?", "Jonas Becker", "German-speaking delivery questions"),
        # billing in Spanish: the billing team's Spanish speaker
        ("Me cobraron dos veces este mes", "Tomás García", "who speak es"),
    ],
)
async def test_a_customer_writing_german_or_spanish_reaches_the_right_person(
    frontdesk_with_rasa: Frontdesk, slack: FakeSlack, text: str, employee: str, reason: str
) -> None:
    async with Visitor(frontdesk_with_rasa.url) as visitor:
        await visitor.say(text)
        intro = await visitor.message(lambda m: "introduces" in m)
    assert intro["introduces"]["name"] == employee
    shown = card_text(await one_card(slack))
    assert text in shown
    assert reason in shown
