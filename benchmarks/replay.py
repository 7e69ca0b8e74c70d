"""8. What if: POST /admin/replay's work (bot/replays.what_if) over 10,000 stored
conversations of the last 30 days, the example config.yml against a candidate that
sends orders elsewhere; goal under 2 s. The history is written straight into the
database (2,000 customers, so most come back; each conversation with its first
assignment and first message), then the replay is timed: reading and replaying both."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.databases import backends
from benchmarks.process import ROOT
from benchmarks.report import heading, line
from benchmarks.report import text as say
from bot import tables
from bot.replays import candidate, what_if
from bot.settings import load_routing_config
from bot.store import Store, async_url, history

CONVERSATIONS, CUSTOMERS, DAYS, RUNS = 10_000, 2_000, 30, 3
INTENTS = ["order_status", "refund", "billing", "cancel_subscription", "technical_support",
           "account_access", "sales", "complaint", None]  # fmt: skip
_SERIAL = ("customers", "conversations", "assignments", "messages")


def _rows(now: datetime) -> list[tuple[Any, list[dict[str, Any]]]]:
    rng = random.Random(8)
    config = load_routing_config(ROOT / "config.yml")
    people = [e.id for e in config.employees]
    customers = [
        {"id": i, "language": rng.choice(["en"] * 9 + ["de"]),
         "tags": ["vip"] if rng.random() < 0.02 else [], "created_at": now - timedelta(days=60)}
        for i in range(1, CUSTOMERS + 1)
    ]  # fmt: skip
    conversations, assignments, messages = [], [], []
    still_open: set[int] = set()  # customers have one open conversation at most
    start, step = now - timedelta(days=DAYS), timedelta(days=DAYS) / CONVERSATIONS
    for i in range(1, CONVERSATIONS + 1):
        at = start + step * (i - 1)
        customer, intent, employee = (
            rng.randint(1, CUSTOMERS),
            rng.choice(INTENTS),
            rng.choice(people),
        )
        closed = (
            None
            if rng.random() < 0.05 and customer not in still_open
            else at + timedelta(minutes=rng.randint(20, 600))
        )
        if closed is None:
            still_open.add(customer)
        conversations.append({
            "id": i, "customer_id": customer, "channel": "web",
            "status": "closed" if closed else "open", "intent": intent, "confidence": 0.9,
            "entities": {"order_id": "12345"} if intent == "order_status" else {},
            "introduced": True, "offered": [], "employee_id": employee, "created_at": at,
            "closed_at": closed,
        })  # fmt: skip
        assignments.append({
            "id": i, "conversation_id": i, "employee_id": employee, "reasons": ["seeded"],
            "assigned_at": at + timedelta(seconds=30),
        })  # fmt: skip
        messages.append({
            "id": i, "conversation_id": i, "author": "customer", "body": f"message {i}",
            "details": {}, "source": "web", "source_id": str(i), "created_at": at,
        })  # fmt: skip
    return [(tables.customers, customers), (tables.conversations, conversations),
            (tables.assignments, assignments), (tables.messages, messages)]  # fmt: skip


async def _seed(url: str, now: datetime) -> None:
    store = Store(url)
    try:
        await store.upgrade()
    finally:
        await store.close()
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            for table, rows in _rows(now):
                for first in range(0, len(rows), 2_000):
                    await connection.execute(table.insert(), rows[first : first + 2_000])
            if connection.dialect.name == "postgresql":
                for name in _SERIAL:
                    sequence = f"pg_get_serial_sequence('{name}', 'id')"
                    await connection.execute(
                        text(f"SELECT setval({sequence}, (SELECT max(id) FROM {name}))")
                    )
                await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


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
            await _seed(url, now)
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
