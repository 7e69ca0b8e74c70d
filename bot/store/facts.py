"""What employees asked to be remembered about customers, oldest first."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select

from bot.store import Connection
from bot.store.rows import add, models
from bot.tables import Fact, facts

_OF = select(facts).where(facts.c.customer_id == bindparam("customer")).order_by(facts.c.id)
_FORGET = delete(facts).where(facts.c.id == bindparam("id"))


async def remember(connection: Connection, fact: Fact) -> Fact:
    return await add(connection, fact)


async def remembered(connection: Connection, customer_id: int) -> list[Fact]:
    """The customer's facts, in the order they were remembered (as cards number them)."""
    return models(Fact, (await connection.execute(_OF, {"customer": customer_id})).all())


async def forget(connection: Connection, fact_id: int) -> None:
    await connection.execute(_FORGET, {"id": fact_id})
