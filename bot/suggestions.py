"""Learning from employees: a transfer suggests the customer's first message as a
training example for the intent that fitted where the conversation went (the one
intent config.yml's rules send there, or the one the employee picked from the team's
few). People accept or reject suggestions (`frontdesk nlu suggestions`); only accepted
ones reach the NLU's training data."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.store import Connection, Store
from bot.store import suggestions as stored
from bot.store.privacy import ERASED
from bot.store.rows import key
from bot.tables import Conversation, Suggestion, utcnow
from routing import RoutingConfig, Target
from routing.intents import intents_to

log = logging.getLogger(__name__)

_WORDS = re.compile(r"\w+")


def normalise(text: str) -> str:
    """What counts as the same example: the words, casefolded, without punctuation."""
    return " ".join(_WORDS.findall(text.casefold()))


def fitted(config: RoutingConfig, target: Target, picked: str | None) -> str | None:
    """The intent a conversation transferred to `target` turned out to be about: the
    one the employee picked, if the rules send it there; else the only intent they
    send there (None when they send several, or none)."""
    fits = intents_to(config, target)
    if picked is not None:
        return picked if picked in fits else None
    return fits[0] if len(fits) == 1 else None


async def suggest(
    connection: Connection,
    conversation: Conversation,
    intent: str,
    by: str,
    now: datetime,
    min_confidence: float,
) -> Suggestion | None:
    """Suggest the customer's first message as an example of `intent`; nothing when
    the NLU already said so confidently (nothing to learn), or the message has no
    words (a file alone, or erased)."""
    if intent == conversation.intent and (conversation.confidence or 0.0) >= min_confidence:
        return None
    first = await stored.first_message(connection, key(conversation))
    text = " ".join(first.body.split()) if first is not None else ""
    if not normalise(text) or text == ERASED:
        return None
    suggestion = await stored.suggest(
        connection,
        Suggestion(
            conversation_id=key(conversation), customer_id=conversation.customer_id,
            text=text, normalised=normalise(text),
            original_intent=conversation.intent, original_confidence=conversation.confidence,
            suggested_intent=intent, employee_id=by, created_at=now,
        ),
    )  # fmt: skip
    log.info(
        "training example suggested",
        extra={"conversation": conversation.id, "intent": intent, "was": conversation.intent},
    )
    return suggestion


@dataclass(frozen=True)
class Group:
    """Suggestions of the same words for the same intent, in the same state."""

    id: int  # the first one's: any of `ids` names the group
    ids: tuple[int, ...]
    text: str  # as the first customer wrote it
    intent: str  # the suggested one
    status: str
    was: tuple[tuple[str | None, float | None], ...]  # what the NLU said, each time
    employees: tuple[str, ...]  # who transferred, most often first
    last: datetime

    @property
    def count(self) -> int:
        return len(self.ids)


def grouped(found: Sequence[Suggestion]) -> list[Group]:
    """Suggestions counted by (words, intent, state), the most often suggested first."""
    by_example: dict[tuple[str, str, str], list[Suggestion]] = {}
    for s in found:
        by_example.setdefault((s.normalised, s.suggested_intent, s.status), []).append(s)
    groups = [
        Group(
            id=key(same[0]),
            ids=tuple(key(s) for s in same),
            text=same[0].text,
            intent=same[0].suggested_intent,
            status=same[0].status,
            was=tuple((s.original_intent, s.original_confidence) for s in same),
            employees=tuple(e for e, _ in Counter(s.employee_id for s in same).most_common()),
            last=max(s.created_at for s in same),
        )
        for same in by_example.values()
    ]
    return sorted(groups, key=lambda g: (-g.count, g.id))


class Suggestions:
    """The suggestions as people review them: listed in groups, decided a group at a
    time (naming any suggestion of a group decides all of it)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    async def groups(self) -> list[Group]:
        async with self.store.reading() as connection:
            return grouped(await stored.every(connection))

    async def waiting(self, ids: Collection[int]) -> tuple[list[Group], list[int]]:
        """The waiting groups these ids name, and the ids that name none (unknown, or
        decided already)."""
        groups = [g for g in await self.groups() if g.status == stored.SUGGESTED]
        chosen = [g for g in groups if set(g.ids) & set(ids)]
        named = {i for g in chosen for i in g.ids}
        return chosen, [i for i in ids if i not in named]

    async def decide(self, groups: Sequence[Group], status: str, by: str) -> None:
        async with self.store.transaction() as connection:
            ids = [i for g in groups for i in g.ids]
            await stored.decide(connection, ids, status, by, self.clock())
