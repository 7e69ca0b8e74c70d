"""4. An employee's reply on its way to the customer: a signed Slack thread reply event
POSTed to the app, until the customer's widget shows the employee's message.

The events go out through aiohttp, not httpx: Slack posts them from its own machines,
and httpx's connection pool, scanning every connection for each request, took more of
the 2 shared cores with 50 requests at once than the app did (py-spy: 44% of the
bench's time in httpcore), slowing the app it measures."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from benchmarks.handoffs import Assigned
from benchmarks.peer import Figures
from tests.fakes.slack import event_callback, sign, thread_reply

_seq = itertools.count(1)


@dataclass(frozen=True)
class Replies:
    shown: Figures  # event posted → the message frame in the widget
    acknowledged: tuple[float, ...]  # event posted → the app's 200 (Slack's wait)


async def reply(http: aiohttp.ClientSession, assigned: Assigned) -> tuple[float, float]:
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
    async with http.post("/slack/events", data=body, headers=headers) as response:
        await response.read()
    acknowledged = time.monotonic() - started
    response.raise_for_status()
    heard = await asyncio.wait_for(shown, 30)
    return acknowledged, heard.at - started


async def replies(
    app_url: str, conversations: Sequence[Assigned], *, at_once: int, count: int
) -> Replies:
    """`count` replies in rounds of `at_once`, each round in as many conversations."""
    connector = aiohttp.TCPConnector(limit=at_once)
    timeout = aiohttp.ClientTimeout(total=30)
    samples: list[tuple[float, float]] = []
    async with aiohttp.ClientSession(app_url, connector=connector, timeout=timeout) as http:
        started = time.monotonic()
        for first in range(0, count, at_once):
            chosen = [conversations[(first + i) % len(conversations)] for i in range(at_once)]
            samples += await asyncio.gather(*(reply(http, a) for a in chosen))
        elapsed = time.monotonic() - started
    return Replies(Figures(tuple(s for _, s in samples), elapsed), tuple(a for a, _ in samples))
