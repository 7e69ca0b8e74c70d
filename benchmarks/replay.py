"""8. What if: POST /admin/replay's work (bot/replays.what_if) over 10,000 stored
conversations of the last 30 days, the example config.yml against a candidate that
sends orders elsewhere; goal under 2 s. The history is written straight into the
database (2,000 customers, so most come back; each conversation with its first
assignment and first message), then the replay is timed: reading and replaying both."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from benchmarks import seeding
from benchmarks.databases import backends
from benchmarks.process import ROOT
from benchmarks.report import heading, line
from benchmarks.report import text as say
from bot.replays import candidate, what_if
from bot.settings import load_routing_config
from bot.store import Store, history

CONVERSATIONS, CUSTOMERS, DAYS, RUNS = 10_000, 2_000, 30, 3


async def run() -> None:
    heading(f"8. What if: a candidate config replayed over {CONVERSATIONS:,} conversations "
            f"of {DAYS} days (goal under 2 s)")  # fmt: skip
    running = load_routing_config(ROOT / "config.yml")
    proposed = candidate(
        (ROOT / "config.yml")
        .read_text(encoding="utf-8")
        .replace("when: {intent: order_status}\n    to: {team: orders}",
                 "when: {intent: order_status}\n    to: {team: support}")
    )  # fmt: skip
    now = datetime.now(UTC)
    for name, database in backends():
        async with database() as url:
            await seeding.write(url, seeding.plain(now, running, CONVERSATIONS, CUSTOMERS, DAYS))
            store = Store(url)
            try:
                since = now - timedelta(days=DAYS)
                started = time.perf_counter()
                async with store.reading() as connection:
                    routed = await history.routed(connection, since, now)
                read = time.perf_counter() - started
                took, found = [], {}
                for _ in range(RUNS):
                    started = time.perf_counter()
                    found = await what_if(store, running, proposed, since, now)
                    took.append(time.perf_counter() - started)
            finally:
                await store.close()
        line(f"{name}: replay of {len(routed):,}, best of {RUNS}", min(took), "s")
        line(f"{name}: of which reading the conversations", read, "s")
        say(f"{found['other_person']:,} would go to another person, {found['other_team']:,} "
            f"to another team; the running config's replay matches {found['as_stored']:,} "
            "stored assignments (seeded at random)")  # fmt: skip
