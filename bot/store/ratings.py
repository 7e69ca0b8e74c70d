"""Customers' ratings of conversations: stored once per conversation, read back for the
thread and for reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update

from bot.store import Connection
from bot.store.rows import ignoring, model, split, values
from bot.tables import (
    Conversation,
    Customer,
    Message,
    Rating,
    conversations,
    customers,
    messages,
    ratings,
)

_ADD_ONCE = ignoring(ratings, "conversation_id")
_ASKED = (
    select(messages, conversations)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(messages.c.id == bindparam("id"), conversations.c.customer_id == bindparam("customer"))
)
_LATEST = (
    select(messages, conversations)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(conversations.c.customer_id == bindparam("customer"))
    .order_by(messages.c.id.desc())
    .limit(1)
)
_COMMENT = (
    update(ratings)
    .where(ratings.c.id == bindparam("rating"), ratings.c.comment.is_(None))
    .values(comment=bindparam("text"))
)
_RATED = select(ratings.c.id).where(ratings.c.conversation_id == bindparam("conversation"))
_WITH_CUSTOMER = (
    select(ratings, customers)
    .join(customers, customers.c.id == ratings.c.customer_id)
    .where(ratings.c.id == bindparam("id"))
)
_PER_EMPLOYEE = (
    select(
        ratings.c.employee_id,
        func.count(ratings.c.score).label("rated"),
        func.avg(ratings.c.score).label("average"),
        func.count().label("asked"),
    )
    .where(ratings.c.rated_at >= bindparam("since"))
    .group_by(ratings.c.employee_id)
)


async def add_once(connection: Connection, rating: Rating) -> bool:
    """Store a rating unless the conversation has one; whether it is new."""
    rating.id = (await connection.execute(_ADD_ONCE(connection), values(rating))).scalar()
    return rating.id is not None


async def asked(
    connection: Connection, customer_id: int, message_id: int
) -> tuple[Message, Conversation] | None:
    """A message in one of this customer's conversations, with the conversation."""
    return await _with_conversation(connection, _ASKED, {"id": message_id, "customer": customer_id})


async def latest(connection: Connection, customer_id: int) -> tuple[Message, Conversation] | None:
    """The newest message in this customer's conversations, with its conversation."""
    return await _with_conversation(connection, _LATEST, {"customer": customer_id})


async def _with_conversation(
    connection: Connection, query: Select[Any], params: dict[str, Any]
) -> tuple[Message, Conversation] | None:
    found = (await connection.execute(query, params)).first()
    if found is None:
        return None
    message, conversation = split(found, messages, conversations)
    assert message is not None
    assert conversation is not None
    return model(Message, message), model(Conversation, conversation)


async def add_comment(connection: Connection, rating_id: int, text: str) -> bool:
    """Give a rating its comment, unless it has one; whether it had none."""
    return (await connection.execute(_COMMENT, {"rating": rating_id, "text": text})).rowcount == 1


async def rated(connection: Connection, conversation_id: int) -> bool:
    """Whether the conversation was rated (or the rating skipped)."""
    return (await connection.execute(_RATED, {"conversation": conversation_id})).first() is not None


async def with_customer(connection: Connection, rating_id: int) -> tuple[Rating, Customer]:
    found = (await connection.execute(_WITH_CUSTOMER, {"id": rating_id})).one()
    rating, customer = split(found, ratings, customers)
    assert rating is not None
    assert customer is not None
    return model(Rating, rating), model(Customer, customer)


async def per_employee(connection: Connection, since: datetime) -> dict[str | None, dict[str, Any]]:
    """Since `since`, per employee: how many rated, their average score, and how many
    answered at all (skips included)."""
    found = await connection.execute(_PER_EMPLOYEE, {"since": since})
    return {
        row.employee_id: {
            "rated": row.rated,
            "average": round(float(row.average), 2) if row.average is not None else None,
            "skipped": row.asked - row.rated,
        }
        for row in found.all()
    }
