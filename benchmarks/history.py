"""7. Cost flat with history: the app's CPU per new customer and per relayed message with
1,000 and with 100,000 stored conversations. The history is written straight into the
database before the app starts (closed conversations, each with its customer, contact,
assignment, desk thread, five messages and three finished jobs), in bulk inserts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import desk_config
from benchmarks.databases import Database, backends
from benchmarks.handoffs import MESSAGE, hand_off, leave
from benchmarks.relay import offer
from benchmarks.report import failure, heading
from benchmarks.report import text as say
from benchmarks.stage import stage
from bot import tables
from bot.store import Store, async_url

SIZES = (1_000, 100_000)
# Measured in turn, small-big-big-small, and each size's mean taken: the machine's speed
# drifts by 10-20% over the minutes the section runs (a run of 100,000-1,000-100,000-
# 1,000 cost 15.2, 16.5, 17.6 and 18.1 ms per new customer), and measured once each,
# whichever went first looked the cheaper or the dearer by that much.
ORDER = (0, 1, 1, 0)
WARM_UP, NEW_CUSTOMERS = 20, 200
BUDGET = 40.0  # seconds of new customers at most: a slow app serves fewer
RATE, SECONDS = 100, 8.0  # relayed messages: about one every 2 s per conversation
_CHUNK = 5_000
_SERIAL = ("customers", "contacts", "conversations", "desk_threads", "messages",
           "assignments", "outbox")  # fmt: skip


async def seed(database_url: str, conversations: int) -> float:
    """Store `conversations` closed conversations of as many customers; seconds taken."""
    started = time.monotonic()
    store = Store(database_url)  # the schema as the app makes it, through its revisions
    try:
        await store.upgrade()
    finally:
        await store.close()
    # An engine of its own rather than the app's Store for the bulk inserts.
    engine = create_async_engine(async_url(database_url))
    try:
        base = datetime.now(UTC) - timedelta(days=400)
        for first in range(1, conversations + 1, _CHUNK):
            batch = _history(range(first, min(first + _CHUNK, conversations + 1)), base)
            async with engine.begin() as connection:
                for table, rows in batch:
                    await connection.execute(table.insert(), rows)
        async with engine.begin() as connection:
            last = base + timedelta(minutes=5 * conversations)
            await connection.execute(tables.employee_status.insert(), _employees(last))
            if connection.dialect.name == "postgresql":
                for name in _SERIAL:  # ids were given: move each sequence past them
                    await connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )
        async with engine.begin() as connection:
            # A database that grew over a year has planner statistics; one filled a
            # moment ago has none until autovacuum gets round to it mid-measurement.
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.monotonic() - started


def _history(ids: Iterable[int], base: datetime) -> list[tuple[Table, list[dict[str, Any]]]]:
    Rows = list[dict[str, Any]]
    customers: Rows = []
    contacts: Rows = []
    conversations: Rows = []
    assignments: Rows = []
    threads: Rows = []
    messages: Rows = []
    jobs: Rows = []
    for i in ids:
        at = base + timedelta(minutes=5 * i)
        index = (i - 1) % desk_config.EMPLOYEES + 1
        employee, user = f"e{index:04d}", desk_config.slack_user(index)
        place, thread = f"D{user}", f"1600000000.{i:06d}"
        customers.append({"id": i, "name": None, "language": "en", "tags": [], "created_at": at})
        contacts.append({"id": i, "customer_id": i, "channel": "web",
                         "address": f"{i:064x}", "created_at": at})  # fmt: skip
        conversations.append({
            "id": i, "customer_id": i, "channel": "web", "status": "closed",
            "intent": "billing", "confidence": 0.97, "entities": {}, "introduced": True,
            "offered": [], "asked_for": None, "employee_id": employee, "thread_id": i,
            "created_at": at, "closed_at": at + timedelta(minutes=30),
        })  # fmt: skip
        assignments.append({
            "id": i, "conversation_id": i, "employee_id": employee, "team_id": "billing",
            "rule": "refunds, invoices and subscriptions", "reasons": ["seeded history"],
            "assigned_at": at, "first_reply_at": at + timedelta(minutes=3),
            "ended_at": at + timedelta(minutes=30),
        })  # fmt: skip
        threads.append({"id": i, "conversation_id": i, "assignment_id": i, "place": place,
                        "thread": thread, "created_at": at})  # fmt: skip
        said = [
            ("customer", None, MESSAGE, {}, "web", f"{i}:h1"),
            ("bot", None, "Hi, I'm the assistant, a bot.", {}, "bot", None),
            ("bot", None, "Someone will answer you here.", {"introduces": employee}, "bot", None),
            ("customer", None, "thanks, the invoice number is 4411", {}, "web", f"{i}:h2"),
            ("employee", employee, "Refunded, sorry about that!", {}, "desk", f"{place}:{i}.9"),
        ]
        for n, (author, by, body, details, source, source_id) in enumerate(said):
            messages.append({
                "id": 5 * (i - 1) + n + 1, "conversation_id": i, "author": author,
                "employee_id": by, "body": body, "details": details, "source": source,
                "source_id": source_id, "created_at": at + timedelta(seconds=n),
            })  # fmt: skip
        done = [("triage", {"message_id": 5 * i - 4}),
                ("card.open", {"assignment_id": i, "upto": 5 * i - 4}),
                ("thread.post", {"message_id": 5 * i - 1})]  # fmt: skip
        for n, (kind, payload) in enumerate(done):
            jobs.append({
                "id": 3 * (i - 1) + n + 1, "kind": kind, "conversation_id": i,
                "lane": f"conversation:{i}", "payload": payload, "status": "done",
                "attempts": 1, "checkpoint": 0, "run_after": at, "locked_until": None,
                "last_error": None, "created_at": at, "finished_at": at,
            })  # fmt: skip
    return [
        (tables.customers, customers),
        (tables.contacts, contacts),
        (tables.conversations, conversations),
        (tables.assignments, assignments),
        (tables.threads, threads),
        (tables.messages, messages),
        (tables.outbox, jobs),
    ]


def _employees(at: datetime) -> list[dict[str, Any]]:
    return [
        {"employee_id": f"e{i:04d}", "away": False, "last_assigned_at": at, "updated_at": at}
        for i in range(1, desk_config.EMPLOYEES + 1)
    ]


async def run() -> None:
    heading(
        "7. Cost with history: app CPU per new customer and per relayed message, with "
        f"{SIZES[0]:,} and {SIZES[1]:,} stored conversations, measured in turn "
        f"{' '.join(f'{SIZES[i]:,}' for i in ORDER)} (each time up to {NEW_CUSTOMERS} new "
        f"customers one at a time, then up to {RATE} messages/s among them for {SECONDS:.0f} s)"
    )
    for name, database in backends():
        notes: list[str] = []
        try:
            costs = await _sizes(name, database, notes)
        except (RuntimeError, TimeoutError) as exc:
            notes.append(f"!! stopped: {failure(exc)}")
            costs = {}
        if len(costs) == len(SIZES):
            (small_new, small_msg), (big_new, big_msg) = costs[SIZES[0]], costs[SIZES[1]]
            say(
                f"{name:<10} new customer {small_new:.1f} → {big_new:.1f} ms "
                f"({big_new / small_new:.2f}x) | relayed message {small_msg:.2f} → "
                f"{big_msg:.2f} ms ({big_msg / small_msg:.2f}x)"
            )
        else:
            say(f"{name:<10} no figures")
        for note in notes:
            say(f"{'':<10} {note}")


async def _sizes(name: str, database: Database, notes: list[str]) -> dict[int, tuple[float, float]]:
    """Mean app CPU ms per new customer and per relayed message at each size, measured
    in the order ORDER gives, on one database per size; a note per measurement."""
    async with database() as small, database() as big:
        urls = dict(zip(SIZES, (small, big), strict=True))
        for size, url in urls.items():
            notes.append(f"{size:,}: seeded in {await seed(url, size):.0f} s")
        measured: dict[int, list[tuple[float, float]]] = {size: [] for size in SIZES}
        for turn, i in enumerate(ORDER, 1):
            size = SIZES[i]
            per_customer, per_message, note = await _costs(f"{name}-{size}-{turn}", urls[size])
            measured[size].append((per_customer, per_message))
            notes.append(f"{size:,} ({turn}): {per_customer:.1f} / {per_message:.2f} ms; {note}")
    return {
        size: (statistics.mean(c for c, _ in runs), statistics.mean(m for _, m in runs))
        for size, runs in measured.items()
    }


async def _costs(name: str, url: str) -> tuple[float, float, str]:
    """App CPU ms per new customer and per relayed message, and a note on how it went."""
    async with stage(f"history-{name}", url) as on:
        try:
            warm = await hand_off(on.app.url, on.slack, WARM_UP)
            await leave(warm.assigned)
            meter = on.meter()
            meter.start()
            fresh = await hand_off(
                on.app.url, on.slack, NEW_CUSTOMERS, first=WARM_UP, budget=BUDGET
            )
            visitors = [a.visitor for a in fresh.assigned]
            per_customer = meter.stop().cpu["app"] / len(visitors) * 1000
            # At most one message every 2 s per conversation, below Slack's pace.
            rate = min(RATE, len(visitors) / 2)
            step = await offer(visitors, on.slack, meter, rate, SECONDS)
            await leave(fresh.assigned)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{failure(exc)}; app log: {on.app.problems()}") from exc
        problems = on.app.problems()
    dropped = warm.dropped + fresh.dropped
    note = (
        f"{len(visitors)} new customers; {step.rate} msg/s relayed with p95 "
        f"{step.p95 * 1000:.0f} ms, {step.lost} lost; {dropped} sockets dropped; "
        f"app log: {problems}"
    )
    return per_customer, step.cpu_ms, note
