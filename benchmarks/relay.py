"""Widget visitors through the whole app: WebSocket in, committed, acknowledged;
triage (with the real NLU) to the introduction of a person. SQLite, and PostgreSQL
when TEST_DATABASE_URL is set; no Slack."""

import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.report import latencies, line
from tests.conftest import PostgresDatabase
from tests.fakes.frontdesk import Frontdesk, always_open_config, settings_for
from tests.fakes.visitor import Visitor

MESSAGES = [
    "I was charged twice for my subscription this month",
    "where is my order 12345",
    "the app keeps crashing when I open my basket",
    "I forgot my password",
]


async def visitor(
    url: str, index: int, acks: list[float], introductions: list[float], follow_ups: int
) -> None:
    async with Visitor(url) as customer:
        start = time.perf_counter()
        await customer.say(MESSAGES[index % len(MESSAGES)])
        acks.append(time.perf_counter() - start)
        await customer.message(
            lambda m: "introduces" in m or "order number" in m["text"], timeout=120
        )
        introductions.append(time.perf_counter() - start)
        for i in range(follow_ups):
            start = time.perf_counter()
            await customer.say(f"follow-up {i}, order 5555{i}")
            acks.append(time.perf_counter() - start)


async def run(rasa_url: str, follow_ups: int = 4) -> None:
    """A quiet site (visitors one after another), then a rush (100 at once)."""
    for visitors, at_once in ((20, 1), (100, 100)):
        with tempfile.TemporaryDirectory() as scratch:
            sqlite = f"sqlite:///{Path(scratch) / 'fd.db'}"
            await one(rasa_url, sqlite, "SQLite", visitors, at_once, follow_ups)
        if admin := os.environ.get("TEST_DATABASE_URL"):
            async with PostgresDatabase(admin) as url:
                await one(rasa_url, url, "PostgreSQL", visitors, at_once, follow_ups)


async def one(
    rasa_url: str, database: str, name: str, visitors: int, at_once: int, follow_ups: int
) -> None:
    print(
        f"Relay on {name}: {visitors} widget visitors, {at_once} at a time, "
        f"{follow_ups + 1} messages each"
    )
    room = asyncio.Semaphore(at_once)
    acks: list[float] = []
    introductions: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        settings = settings_for(database, always_open_config(directory), rasa_url, None)
        async with Frontdesk(settings) as app:

            async def admitted(index: int) -> None:
                async with room:
                    await visitor(app.url, index, acks, introductions, follow_ups)

            started = time.perf_counter()
            await asyncio.gather(*(admitted(i) for i in range(visitors)))
            elapsed = time.perf_counter() - started
    latencies("message stored and acknowledged", acks)
    latencies("first message to the bot's reply or introduction", introductions)
    line("customer messages/s (all visitors)", len(acks) / elapsed, "/s")
    line(
        "app process peak RSS (benchmark process)",
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "MiB",
    )
