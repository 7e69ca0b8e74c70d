"""Conversations already with an employee, made the honest way: new widget visitors write,
triage hands each one off, and each card arrives in the assigned employee's DM on the
Slack double. A marker in the first message finds each visitor's card."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass

from benchmarks.slack_double import Card, SlackDouble
from benchmarks.visitors import Dropped, Visitor

MESSAGE = "I was charged twice for my subscription this month"
# One question for each team the shipped rules send to (the stub NLU knows them), so
# the handoffs spread over every team and each conversation gets a DM of its own.
QUESTIONS = (
    MESSAGE,
    "where is my order 12345",
    "the app keeps crashing when I open my basket",
    "do you sell gift cards for businesses?",
)
_REF = re.compile(r"\[ref-(\d+)\]")


@dataclass(frozen=True)
class Assigned:
    """A customer's open socket, and their conversation's card on the desk."""

    visitor: Visitor
    card: Card


@dataclass(frozen=True)
class Handoffs:
    assigned: list[Assigned]
    dropped: int  # sockets the app closed on a first message, which was then resent

    def spread(self) -> str:
        """How many DMs the conversations went to, and the most in one."""
        per_desk = Counter(a.card.channel for a in self.assigned)
        return f"{len(per_desk)} DMs, at most {max(per_desk.values(), default=0)} in one"


async def hand_off(
    app_url: str,
    slack: SlackDouble,
    count: int,
    *,
    at_once: int = 1,
    first: int = 0,
    budget: float = float("inf"),
) -> Handoffs:
    """`count` new customers, each left with an employee and their socket still open
    (fewer if `budget` seconds pass first: a slow app must not stretch the bench).
    A socket the app drops is reopened and the message resent, as the widget does.

    One at a time by default: handoffs that overlap can pick the same least-busy
    employee (on PostgreSQL), and a DM with several busy conversations is held back by
    Slack's pacing, which would hide the app's own figures."""
    visitors: dict[int, Visitor] = {}
    room = asyncio.Semaphore(at_once)
    before, _ = await slack.counts()
    dropped = 0
    deadline = time.monotonic() + budget

    async def customer(ref: int) -> None:
        nonlocal dropped
        async with room:
            if time.monotonic() > deadline:
                return
            visitor = await Visitor.arrive(app_url)
            for _attempt in range(5):
                introduced = visitor.expect(lambda m: "introduces" in m)
                question = QUESTIONS[ref % len(QUESTIONS)]
                await visitor.say(f"{question} [ref-{ref:06d}]", client_id=f"ref-{ref}")
                try:
                    await asyncio.wait_for(introduced, 120)
                    break
                except Dropped:
                    dropped += 1
                    visitor = await Visitor.arrive(app_url, visitor.token)
            else:
                raise RuntimeError(f"customer {ref} was dropped five times")
            visitors[ref] = visitor

    await asyncio.gather(*(customer(ref) for ref in range(first, first + count)))
    made = len(visitors)
    posted = await slack.settled(before + made, patience=120)
    if posted < before + made:
        raise RuntimeError(f"only {posted - before} of {made} cards reached the Slack double")
    cards = {}
    for card in await slack.cards():
        if found := _REF.search(card.blocks):
            cards[int(found.group(1))] = card
    return Handoffs([Assigned(visitors[ref], cards[ref]) for ref in sorted(visitors)], dropped)


async def leave(assigned: list[Assigned]) -> None:
    await asyncio.gather(*(a.visitor.leave() for a in assigned))
