"""Stored history written straight into a database in bulk inserts, as the app's tables
hold it: bench 8's 10,000 conversations (`plain`: each with its first assignment and
first message) and, for the console's screenshots, a realistic month (`month`: named
returning customers, topics in proportion, first replies after varied waits, a few
transfers, low-confidence and negative messages, the newest still waiting)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot import tables
from bot.store import Store, async_url
from routing import RoutingConfig

Rows = list[tuple[Table, list[dict[str, Any]]]]
INTENTS = ["order_status", "refund", "billing", "cancel_subscription", "technical_support",
           "account_access", "sales", "complaint", None]  # fmt: skip
_SERIAL = ("customers", "conversations", "assignments", "messages")
_CHUNK = 2_000


async def write(url: str, rows: Rows) -> None:
    """The schema as the app makes it (its revisions), then `rows`, ids as given."""
    store = Store(url)
    try:
        await store.upgrade()
    finally:
        await store.close()
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            for table, listed in rows:
                for first in range(0, len(listed), _CHUNK):
                    await connection.execute(table.insert(), listed[first : first + _CHUNK])
            if connection.dialect.name == "postgresql":
                for name in _SERIAL:  # ids were given: move each sequence past them
                    sequence = f"pg_get_serial_sequence('{name}', 'id')"
                    await connection.execute(
                        text(f"SELECT setval({sequence}, (SELECT max(id) FROM {name}))")
                    )
                await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


@dataclass
class History:
    """Rows being built, one conversation at a time, each table's ids counted here."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def conversation(
        self,
        customer: int,
        at: datetime,
        intent: str | None,
        closed: datetime | None,
        employee: str,
        confidence: float = 0.9,
    ) -> int:
        number = len(self.conversations) + 1
        self.conversations.append({
            "id": number, "customer_id": customer, "channel": "web",
            "status": "closed" if closed else "open", "intent": intent, "confidence": confidence,
            "entities": {"order_id": "12345"} if intent == "order_status" else {},
            "introduced": True, "offered": [], "employee_id": employee, "created_at": at,
            "closed_at": closed,
        })  # fmt: skip
        return number

    def assign(self, conversation: int, employee: str, at: datetime, **more: Any) -> None:
        self.assignments.append({"id": len(self.assignments) + 1, "conversation_id": conversation,
                                 "employee_id": employee, "reasons": ["seeded"],
                                 "assigned_at": at, **more})  # fmt: skip

    def say(self, conversation: int, body: str, at: datetime, employee: str | None = None) -> None:
        number = len(self.messages) + 1
        self.messages.append({
            "id": number, "conversation_id": conversation,
            "author": "employee" if employee else "customer", "employee_id": employee,
            "body": body, "details": {}, "source": "desk" if employee else "web",
            "source_id": str(number), "created_at": at,
        })  # fmt: skip

    def rows(self) -> Rows:
        return [
            (tables.customers, self.customers),
            (tables.conversations, self.conversations),
            (tables.assignments, self.assignments),
            (tables.messages, self.messages),
        ]


def plain(now: datetime, config: RoutingConfig, conversations: int, customers: int,
          days: int) -> Rows:  # fmt: skip
    """Bench 8's history: conversations evenly over `days`, topics and people at random,
    closed within hours but for a few; every first message `message N`."""
    rng, made = random.Random(8), History()
    people = [e.id for e in config.employees]
    made.customers = [
        {"id": i, "language": rng.choice(["en"] * 9 + ["de"]),
         "tags": ["vip"] if rng.random() < 0.02 else [], "created_at": now - timedelta(days=60)}
        for i in range(1, customers + 1)
    ]  # fmt: skip
    still_open: set[int] = set()  # customers have one open conversation at most
    start, step = now - timedelta(days=days), timedelta(days=days) / conversations
    for i in range(1, conversations + 1):
        at = start + step * (i - 1)
        customer, intent, employee = (
            rng.randint(1, customers),
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
        number = made.conversation(customer, at, intent, closed, employee)
        made.assign(number, employee, at + timedelta(seconds=30))
        made.say(number, f"message {number}", at)
    return made.rows()
