"""5. The NLU hangs (it accepts connections and never answers): 50 new customers at once;
how long until each is told that a person will answer."""

from __future__ import annotations

import asyncio
from typing import Any

from benchmarks.databases import sqlite
from benchmarks.handoffs import MESSAGE
from benchmarks.report import heading, percentile, text
from benchmarks.stage import stage
from benchmarks.visitors import Arrival, new_customer

CUSTOMERS = 50
TARGET = 5.0  # seconds
GIVE_UP = 90.0


def told(message: dict[str, Any]) -> bool:
    """The bot passed them to a person: the NLU-down notice, or the introduction."""
    return "straight to a person" in message.get("text", "") or "introduces" in message


async def run() -> None:
    heading(
        f"5. NLU hanging (accepts, never answers): {CUSTOMERS} new customers at once, "
        "until each is told a person will answer"
    )
    async with sqlite() as url, stage("hanging", url, hang=True) as on:
        results = await asyncio.gather(
            *(new_customer(on.app.url, MESSAGE, told, GIVE_UP) for _ in range(CUSTOMERS)),
            return_exceptions=True,
        )
        problems = on.app.problems()
    waits = sorted(r.from_message for r in results if isinstance(r, Arrival))
    missing = CUSTOMERS - len(waits)
    if waits:
        within = sum(1 for w in waits if w <= TARGET)
        text(
            f"told after p50 {percentile(waits, 50):.2f} s, p99 {percentile(waits, 99):.2f} s, "
            f"max {waits[-1]:.2f} s; {within} of {CUSTOMERS} within {TARGET:.0f} s"
        )
    if missing:
        text(f"!! {missing} of {CUSTOMERS} were not told within {GIVE_UP:.0f} s")
    text(f"app log: {problems}")
