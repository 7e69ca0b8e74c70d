"""4. An employee's reply on its way to the customer: a signed Slack thread reply event
POSTed to the app, until the customer's widget shows the employee's message."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from benchmarks.handoffs import Assigned
from benchmarks.peer import Figures
from tests.fakes.slack import event_callback, sign, thread_reply

_seq = itertools.count(1)


@dataclass(frozen=True)
class Replies:
    shown: Figures  # event posted → the message frame in the widget
    acknowledged: tuple[float, ...]  # event posted → the app's 200 (Slack's wait)


async def reply(http: httpx.AsyncClient, assigned: Assigned) -> tuple[float, float]:
    """One reply by the assigned employee; (seconds until acknowledged, until shown)."""
    seq = next(_seq)
    words = f"employee reply {seq}"
    shown = assigned.visitor.expect(lambda m: m.get("kind") == "employee" and m["text"] == words)
    card = assigned.card
    event = thread_reply(
        card.channel, card.ts, card.user, words, ts=f"{1_800_000_000 + seq}.000100"
    )
    body = json.dumps(event_callback(event))
    headers = {"Content-Type": "application/json", **sign(body)}
    started = time.monotonic()
    response = await http.post("/slack/events", content=body, headers=headers)
    acknowledged = time.monotonic() - started
    response.raise_for_status()
    heard = await asyncio.wait_for(shown, 30)
    return acknowledged, heard.at - started


async def replies(
    app_url: str, conversations: Sequence[Assigned], *, at_once: int, count: int
) -> Replies:
    """`count` replies in rounds of `at_once`, each round in as many conversations."""
    limits = httpx.Limits(max_connections=at_once, max_keepalive_connections=at_once)
    samples: list[tuple[float, float]] = []
    async with httpx.AsyncClient(base_url=app_url, limits=limits, timeout=30) as http:
        started = time.monotonic()
        for first in range(0, count, at_once):
            chosen = [conversations[(first + i) % len(conversations)] for i in range(at_once)]
            samples += await asyncio.gather(*(reply(http, a) for a in chosen))
        elapsed = time.monotonic() - started
    return Replies(Figures(tuple(s for _, s in samples), elapsed), tuple(a for a, _ in samples))
