"""What the admin console reads to show conversations whole: search by words, customer or
person, one transcript with its assignments (the first is the routing decision, the
others transfers and take-overs), and each employee's book of customers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select

from bot.store import Connection
from bot.store.rows import model, models
from bot.tables import (
    Assignment,
    Conversation,
    Customer,
    Message,
    assignments,
    conversations,
    customers,
    messages,
)

BOOK_LISTED = 50  # customers shown per person


@dataclass(frozen=True)
class Transcript:
    conversation: Conversation
    customer: Customer
    messages: list[Message]
    assignments: list[Assignment]


@dataclass(frozen=True)
class Booked:
    customer_id: int
    name: str | None
    conversations: int


async def search(
    connection: Connection, words: str, employee: str | None, status: str | None, limit: int
) -> list[tuple[Conversation, Customer]]:
    """The newest conversations whose messages or customer's name or email contain
    `words` (any case), of one person or status when given."""
    query = select(conversations).order_by(conversations.c.id.desc()).limit(limit)
    if words.strip():
        like = f"%{words.strip().lower()}%"
        said = exists().where(
            messages.c.conversation_id == conversations.c.id, func.lower(messages.c.body).like(like)
        )
        named = select(customers.c.id).where(
            or_(func.lower(customers.c.name).like(like), func.lower(customers.c.email).like(like))
        )
        query = query.where(or_(said, conversations.c.customer_id.in_(named)))
    if employee:
        query = query.where(conversations.c.employee_id == employee)
    if status:
        query = query.where(conversations.c.status == status)
    found = models(Conversation, (await connection.execute(query)).all())
    ids = {c.customer_id for c in found}
    who = await connection.execute(select(customers).where(customers.c.id.in_(ids)))
    people = {c.id: c for c in models(Customer, who.all())}
    return [(c, people[c.customer_id]) for c in found]


async def transcript(connection: Connection, conversation_id: int) -> Transcript | None:
    found = (
        await connection.execute(select(conversations).where(conversations.c.id == conversation_id))
    ).first()
    if found is None:
        return None
    conversation = model(Conversation, found)
    customer = (
        await connection.execute(
            select(customers).where(customers.c.id == conversation.customer_id)
        )
    ).first()
    said = await connection.execute(
        select(messages)
        .where(messages.c.conversation_id == conversation_id)
        .order_by(messages.c.id)
    )
    given = await connection.execute(
        select(assignments)
        .where(assignments.c.conversation_id == conversation_id)
        .order_by(assignments.c.id)
    )
    assert customer is not None  # a conversation's customer row is kept until erased
    return Transcript(
        conversation,
        model(Customer, customer),
        models(Message, said.all()),
        models(Assignment, given.all()),
    )


async def books(connection: Connection) -> dict[str, list[Booked]]:
    """Per employee: the customers whose latest assigned conversation was theirs (whom
    routing would send back to them), most conversations first."""
    latest = (
        select(func.max(conversations.c.id).label("id"))
        .where(conversations.c.employee_id.is_not(None))
        .group_by(conversations.c.customer_id)
        .subquery()
    )
    counted = (
        select(conversations.c.customer_id, func.count().label("n"))
        .group_by(conversations.c.customer_id)
        .subquery()
    )
    query = (
        select(conversations.c.employee_id, customers.c.id, customers.c.name, counted.c.n)
        .join(latest, latest.c.id == conversations.c.id)
        .join(customers, customers.c.id == conversations.c.customer_id)
        .join(counted, counted.c.customer_id == conversations.c.customer_id)
        .order_by(counted.c.n.desc(), customers.c.id)
    )
    found: dict[str, list[Booked]] = defaultdict(list)
    for row in (await connection.execute(query)).all():
        if len(found[row.employee_id]) < BOOK_LISTED:
            found[row.employee_id].append(Booked(row.id, row.name, int(row.n)))
    return found
