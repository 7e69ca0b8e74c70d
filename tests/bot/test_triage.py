"""Whole triage conversations as tables: what the customer says and what the NLU
makes of it, then what the bot says and whether it hands off."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import load_routing_config
from bot.triage import Step, TriageState, step
from nlu import Classification, Entity, IntentScore

CONFIG = load_routing_config(Path(__file__).parent.parent.parent / "config.yml")
DOWN = None  # the NLU failed


def nlu(
    intent: str, confidence: float = 0.95, *entities: tuple[str, str], ranking: tuple[str, ...] = ()
) -> Classification:
    return Classification(
        intent,
        confidence,
        tuple(Entity(name, value, 0, len(value)) for name, value in entities),
        tuple(IntentScore(i, 0.1) for i in ranking) or (IntentScore(intent, confidence),),
    )


@dataclass
class Turn:
    text: str
    understood: Classification | None
    says: tuple[str, ...]  # a fragment of each reply, in order
    handoff: bool = False
    quick_replies: tuple[str, ...] = ()


def run(turns: list[Turn]) -> Step:
    state = TriageState()
    result = None
    for turn in turns:
        result = step(state, turn.text, turn.understood, CONFIG)
        assert len(result.replies) == len(turn.says), (turn.text, result.replies)
        for reply, fragment in zip(result.replies, turn.says, strict=True):
            assert fragment in reply.text, (turn.text, reply.text)
        assert result.handoff is turn.handoff, turn.text
        quick = [r.quick_replies for r in result.replies if r.quick_replies]
        assert (quick[0] if quick else ()) == turn.quick_replies
        state = result.state
    assert result is not None
    return result


BOT = "I'm Acme assistant, a bot"
ASK_ORDER = "What's your order number?"
CLARIFY = "is it about one of these?"

CONVERSATIONS = {
    "a greeting, then the question": (
        [
            Turn("hi", nlu("greet"), (BOT,)),
            Turn(
                "where is my order 12345",
                nlu("order_status", 0.97, ("order_id", "12345")),
                (),
                handoff=True,
            ),
        ],
        "order_status",
        {"order_id": "12345"},
    ),
    "asked for the order number, and given it": (
        [
            Turn("where is my parcel", nlu("order_status"), (BOT, ASK_ORDER)),
            Turn("it's 48213", nlu("order_status", 0.4, ("order_id", "48213")), (), handoff=True),
        ],
        "order_status",
        {"order_id": "48213"},
    ),
    "asked for the order number, not given: handed off anyway": (
        [
            Turn("my order hasn't arrived", nlu("order_status"), (BOT, ASK_ORDER)),
            Turn("no idea sorry", nlu("out_of_scope", 0.9), ("pass it on as it is",), handoff=True),
        ],
        "order_status",
        {},
    ),
    "unsure: one clarifying question, answered with a quick reply": (
        [
            Turn(
                "hmm about that thing",
                nlu("complaint", 0.3, ranking=("billing", "greet", "refund", "sales")),
                (BOT, CLARIFY),
                quick_replies=(
                    "Payments and invoices",
                    "A refund or return",
                    "Buying from Acme",
                    "Something else",
                ),
            ),
            Turn("Payments and invoices", nlu("billing", 0.5), (), handoff=True),
        ],
        "billing",
        {},
    ),
    "clarified as something else: the fallback": (
        [
            Turn(
                "hmm",
                nlu("sales", 0.2, ranking=("sales",)),
                (BOT, CLARIFY),
                quick_replies=(
                    "Buying from Acme",
                    "An order or delivery",
                    "A refund or return",
                    "Something else",
                ),
            ),
            Turn("something else!", nlu("out_of_scope", 0.6), (), handoff=True),
        ],
        None,
        {},
    ),
    "clarified in words the NLU is sure of, then the detail": (
        [
            Turn(
                "help",
                nlu("technical_support", 0.3),
                (BOT, CLARIFY),
                quick_replies=(
                    "The website or app",
                    "An order or delivery",
                    "A refund or return",
                    "Something else",
                ),
            ),
            Turn("I want my money back", nlu("refund", 0.93), (ASK_ORDER,)),
            Turn("98765", nlu("out_of_scope", 0.5, ("order_id", "98765")), (), handoff=True),
        ],
        "refund",
        {"order_id": "98765"},
    ),
    "still unsure after the one question: a person": (
        [
            Turn(
                "?",
                nlu("sales", 0.2),
                (BOT, CLARIFY),
                quick_replies=(
                    "Buying from Acme",
                    "An order or delivery",
                    "A refund or return",
                    "Something else",
                ),
            ),
            Turn("dunno", nlu("billing", 0.3), (), handoff=True),
        ],
        None,
        {},
    ),
    "asking for a person goes straight to one": (
        [Turn("can I talk to a real human", nlu("human_handoff"), (), handoff=True)],
        "human_handoff",
        {},
    ),
    "NLU down: straight to a person": (
        [Turn("where is my order", DOWN, (BOT, "passed yours straight to a person"), handoff=True)],
        None,
        {},
    ),
    "the detail already in the first message: no question": (
        [
            Turn(
                "refund order 55555 please",
                nlu("refund", 0.9, ("order_id", "55555")),
                (BOT,),
                handoff=True,
            )
        ],
        "refund",
        {"order_id": "55555"},
    ),
    "goodbye before anything: no handoff": (
        [Turn("thanks bye", nlu("goodbye"), (BOT, "Write here any time"))],
        "goodbye",
        {},
    ),
    "a fluent message out of scope: the clarifying question": (
        [
            Turn(
                "what's the weather in Paris",
                nlu("out_of_scope", 1.0),
                (BOT, CLARIFY),
                quick_replies=(
                    "An order or delivery",
                    "A refund or return",
                    "Payments and invoices",
                    "Something else",
                ),
            )
        ],
        "out_of_scope",
        {},
    ),
    "a second greeting is not answered twice": (
        [
            Turn("hi", nlu("greet"), (BOT,)),
            Turn(
                "hello??",
                nlu("greet"),
                (CLARIFY,),
                quick_replies=(
                    "An order or delivery",
                    "A refund or return",
                    "Payments and invoices",
                    "Something else",
                ),
            ),
        ],
        "greet",
        {},
    ),
}


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_conversation(name: str) -> None:
    turns, intent, entities = CONVERSATIONS[name]
    final = run(turns)
    assert final.state.intent == intent
    assert dict(final.state.entities) == entities
    assert final.state.introduced is (intent != "human_handoff")


def test_the_bot_says_it_is_a_bot_once() -> None:
    first = step(TriageState(), "where is my order", nlu("order_status"), CONFIG)
    second = step(
        first.state, "it is 12345", nlu("order_status", 0.9, ("order_id", "12345")), CONFIG
    )
    said = [r.text for r in (*first.replies, *second.replies)]
    assert sum("a bot" in text for text in said) == 1
