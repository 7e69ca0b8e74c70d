"""Triage: what the bot does with a customer's message before a person takes over.

Pure: (state, text, what the NLU made of it, config) -> the next state, what to say
and whether to hand off now. The bot says it is a bot, asks at most one clarifying
question, asks once for a detail the config wants (an order number), and then hands
off; it never holds a customer back from a person."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from nlu import Classification
from routing import RoutingConfig

GREET, GOODBYE, HUMAN = "greet", "goodbye", "human_handoff"
_OFFERED = 3
_NOT_WORDS = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class TriageState:
    introduced: bool = False  # the bot has said it is a bot in this conversation
    intent: str | None = None
    confidence: float | None = None
    entities: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    offered: tuple[str, ...] = ()  # intents offered in the clarifying question
    asked_for: str | None = None  # the entity the bot asked for


@dataclass(frozen=True)
class Reply:
    text: str
    quick_replies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    state: TriageState
    replies: tuple[Reply, ...]
    handoff: bool


def step(
    state: TriageState, text: str, understood: Classification | None, config: RoutingConfig
) -> Step:
    """`understood` is None when the NLU failed: the customer goes straight to a person."""
    replies: list[Reply] = []
    if understood is not None:
        found = {e.name: e.value for e in understood.entities}
        state = replace(state, entities=MappingProxyType({**state.entities, **found}))
    if state.asked_for is not None:
        if state.asked_for not in state.entities:
            replies.append(Reply(config.triage.texts.not_given))
        return _handoff(replace(state, asked_for=None), replies)
    if state.offered:
        chosen = _answer(state, text, understood, config)
        return _collect_or_handoff(replace(state, offered=(), intent=chosen), replies, config)
    texts = config.triage.texts
    if understood is None:
        state = _introduce(state, replies, config)
        return _handoff(state, [*replies, Reply(texts.nlu_down)])
    confident = understood.confidence >= config.triage.min_confidence
    state = replace(state, intent=understood.intent, confidence=understood.confidence)
    if confident and understood.intent == HUMAN:
        return _handoff(state, replies)
    if confident and understood.intent == GREET and not state.introduced:
        greeting = Reply(texts.greeting.format(**bot_fields(config)))
        return Step(replace(state, introduced=True), (greeting,), handoff=False)
    state = _introduce(state, replies, config)
    if confident and understood.intent == GOODBYE:
        return Step(state, (*replies, Reply(texts.goodbye)), handoff=False)
    if not confident or not _known(understood.intent, config):
        offered = _likely_topics(understood, config)
        if not offered:  # nothing to offer: a person will sort it out
            return _handoff(replace(state, intent=None), replies)
        labels = (*(config.triage.topics[i] for i in offered), texts.something_else)
        replies.append(Reply(texts.clarify, labels))
        return Step(replace(state, offered=offered), tuple(replies), handoff=False)
    return _collect_or_handoff(state, replies, config)


def _introduce(state: TriageState, replies: list[Reply], config: RoutingConfig) -> TriageState:
    """Say it is a bot, once per conversation."""
    if state.introduced:
        return state
    replies.append(Reply(config.triage.texts.intro.format(**bot_fields(config))))
    return replace(state, introduced=True)


def bot_fields(config: RoutingConfig) -> dict[str, str]:
    """The placeholders the bot's own texts may use."""
    return {"bot_name": config.company.bot_name, "company": config.company.name}


def _collect_or_handoff(state: TriageState, replies: list[Reply], config: RoutingConfig) -> Step:
    for entity in config.triage.collect.get(state.intent or "", ()):
        if entity not in state.entities:
            replies.append(Reply(config.triage.texts.ask[entity]))
            return Step(replace(state, asked_for=entity), tuple(replies), handoff=False)
    return _handoff(state, replies)


def _handoff(state: TriageState, replies: list[Reply]) -> Step:
    return Step(state, tuple(replies), handoff=True)


def _answer(
    state: TriageState, text: str, understood: Classification | None, config: RoutingConfig
) -> str | None:
    """The intent the customer chose in answer to the clarifying question: a quick
    reply, or a message the NLU is now sure about; None (the fallback) otherwise."""
    said = _words(text)
    for intent in state.offered:
        if said == _words(config.triage.topics[intent]):
            return intent
    if (
        understood is not None
        and understood.confidence >= config.triage.min_confidence
        and _known(understood.intent, config)
    ):
        return understood.intent
    return None


def _known(intent: str, config: RoutingConfig) -> bool:
    """An intent the config does something with: offers it as a topic or routes it."""
    return intent in config.triage.topics or any(intent in r.when.intent for r in config.rules)


def _likely_topics(understood: Classification, config: RoutingConfig) -> tuple[str, ...]:
    ranked = [s.intent for s in understood.ranking if s.intent in config.triage.topics]
    rest = [i for i in config.triage.topics if i not in ranked]
    return tuple([*ranked, *rest][:_OFFERED])


def _words(text: str) -> str:
    return _NOT_WORDS.sub(" ", text.casefold()).strip()
