"""Whole conversations through the core, in memory (see tests/fakes/harness.py): what a
customer says, what they see, what lands on the employee's desk and what the employee
does there. Each conversation is a table of steps:

    ("customer", text)            the customer writes
    ("sees", fragment, ...)       the messages sent to the customer since the last look
    ("card", employee, fragment)  the newest card is on that employee's desk and shows it
    ("thread", fragment, ...)     what was posted in the newest card's thread since last look
    ("note", fragment)            a note from Frontdesk in a thread
    (employee, "writes", text)    an employee writes in their newest thread
    (employee, "closes" | "takes over" | "transfers to", target)
"""

from pathlib import Path

import pytest

from routing import Target
from tests.fakes.harness import Harness

CHARGED = "I was charged twice for my subscription this month"
BOT = "I'm Acme assistant, a bot"
PRIYA = "Priya Sharma (Billing specialist) will answer you here"

Step = tuple[str, ...]

CONVERSATIONS: dict[str, list[Step]] = {
    "a question reaches a named person, who answers by name": [
        ("customer", CHARGED),
        ("sees", BOT, PRIYA),
        ("card", "priya", CHARGED),
        ("priya", "writes", "Refunded, sorry!"),
        ("sees", "Priya Sharma: Refunded, sorry!"),
        ("customer", "thanks!"),
        ("thread", "thanks!"),
    ],
    "a greeting gets a greeting, then the question is routed": [
        ("customer", "hi"),
        ("sees", "Hi! I'm Acme assistant, a bot"),
        ("customer", CHARGED),
        ("sees", PRIYA),
        ("card", "priya", "hi"),
    ],
    "the bot asks for the order number once, and the card has it": [
        ("customer", "where is my order"),
        ("sees", BOT, "What's your order number?"),
        ("customer", "it is 98765"),
        ("sees", "Amara Okafor (Orders team lead) will answer you here"),
        ("card", "amara", "it is 98765"),
    ],
    "unsure, the bot asks one question with topics and routes the answer": [
        ("customer", "hmm, about that thing"),
        ("sees", BOT, "is it about one of these?"),
        ("customer", "Payments and invoices"),
        ("sees", PRIYA),
    ],
    "asking for a person goes straight to one": [
        ("customer", "can I talk to a person"),
        ("sees", "Sam Rivera (Customer care manager) will answer you here"),
        ("card", "sam", "can I talk to a person"),
    ],
    "notes and colleagues stay internal": [
        ("customer", CHARGED),
        ("sees", BOT, PRIYA),
        ("priya", "writes", "note: checking with finance first"),
        ("tomas", "writes", "I think it is a known bug"),
        ("sees",),
        ("priya", "writes", "Found it, refunded."),
        ("sees", "Priya Sharma: Found it, refunded."),
    ],
    "a close tells the customer, and a later reply reopens": [
        ("customer", CHARGED),
        ("sees", BOT, PRIYA),
        ("priya", "closes", ""),
        ("sees", "Priya Sharma closed this conversation"),
        ("priya", "writes", "One more thing: the refund takes 3 days."),
        ("sees", "Priya Sharma: One more thing"),
    ],
    "a transfer introduces the new person, and the old thread is told": [
        ("customer", CHARGED),
        ("sees", BOT, PRIYA),
        ("priya", "transfers to", "sam"),
        ("sees", "Priya Sharma has passed your conversation to Sam Rivera"),
        ("card", "sam", CHARGED),
        ("note", "Transferred to Sam Rivera by Priya Sharma."),
        ("priya", "writes", "old thread, not delivered"),
        ("sam", "writes", "Sam here, on it."),
        ("sees", "Sam Rivera: Sam here, on it."),
    ],
}


async def play(harness: Harness, steps: list[Step]) -> None:
    customer = harness.customer("ada")
    seen, posted, noted = 0, 0, 0
    for step in steps:
        match step:
            case ("customer", text):
                await customer.says(text)
            case ("sees", *fragments):
                new, seen = customer.saw[seen:], len(customer.saw)
                assert len(new) == len(fragments), (step, new)
                for fragment, message in zip(fragments, new, strict=True):
                    assert fragment in message, (fragment, message)
            case ("card", employee, fragment):
                spot, card = harness.desk.cards[-1]
                assert card.employee.id == employee
                assert any(fragment in line.text for line in card.transcript), card.transcript
                posted = len(harness.desk.in_thread(spot))
            case ("thread", *fragments):
                spot = harness.desk.cards[-1][0]
                new = harness.desk.in_thread(spot)[posted:]
                posted += len(new)
                assert [f for f, t in zip(fragments, new, strict=True) if f not in t] == []
            case ("note", fragment):
                new = [text for _, text in harness.desk.notes[noted:]]
                noted = len(harness.desk.notes)
                assert any(fragment in text for text in new), new
            case (employee, "writes", text):
                spot = harness.desk.thread_of(employee) if _has_card(harness, employee) else None
                await harness.employee(employee).writes(
                    text, in_thread=spot or harness.desk.cards[-1][0]
                )
            case (employee, "closes", _):
                assert await harness.employee(employee).closes()
            case (employee, "transfers to", target):
                await harness.employee(employee).transfers(Target(employee=target))
            case _:
                raise AssertionError(f"unknown step {step}")


def _has_card(harness: Harness, employee: str) -> bool:
    return any(card.employee.id == employee for _, card in harness.desk.cards)


@pytest.mark.parametrize("steps", CONVERSATIONS.values(), ids=CONVERSATIONS.keys())
async def test_conversation(tmp_path: Path, steps: list[Step]) -> None:
    async with Harness(tmp_path) as harness:
        await play(harness, steps)
