"""Messages: stored once per channel id, read back as a conversation's transcript or
as what a customer has not seen yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, literal_column, select, update

from bot.store import Connection
from bot.store.rows import ignoring, model, models, split, values
from bot.tables import (
    CUSTOMER_VISIBLE,
    Conversation,
    Customer,
    Message,
    Thread,
    conversations,
    customers,
    messages,
    threads,
)

_ADD_ONCE = ignoring(messages, "source", "source_id")
_BY_SOURCE = select(messages).where(
    messages.c.source == bindparam("source"), messages.c.source_id == bindparam("source_id")
)
_WITH_CONVERSATION = (
    select(messages, conversations)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(messages.c.id == bindparam("id"))
)
_FOR_THREAD = (
    select(messages, customers, threads)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .join(customers, customers.c.id == conversations.c.customer_id)
    .join(threads, threads.c.id == conversations.c.thread_id, isouter=True)
    .where(messages.c.id == bindparam("id"))
)
_TRANSCRIPT = (
    select(messages)
    .where(messages.c.conversation_id == bindparam("conversation"))
    .order_by(messages.c.id)
)
_SEEN_AFTER = (
    select(messages)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(conversations.c.customer_id == bindparam("customer"))
    .where(messages.c.id > bindparam("cursor"))
    .where(messages.c.author.in_(CUSTOMER_VISIBLE))
    .order_by(messages.c.id)
    .limit(bindparam("limit"))
)


_SEEN = (
    select(messages)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(conversations.c.customer_id == bindparam("customer"))
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .where(messages.c.author.in_(CUSTOMER_VISIBLE))
    .order_by(messages.c.id)
)


_DELIVERED = (
    update(messages)
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .where(messages.c.author == literal_column("'employee'"), messages.c.delivered_at.is_(None))
    .values(delivered_at=bindparam("now"))
    .returning(messages.c.id, messages.c.conversation_id)
)
_SEEN_UP_TO = (
    update(messages)
    .where(
        messages.c.conversation_id.in_(
            select(conversations.c.id).where(conversations.c.customer_id == bindparam("customer"))
        )
    )
    .where(messages.c.id <= bindparam("up_to"))
    .where(messages.c.author == literal_column("'employee'"), messages.c.delivered_at.is_(None))
    .values(delivered_at=bindparam("now"))
    .returning(messages.c.id, messages.c.conversation_id)
)


async def find_message(connection: Connection, source: str, source_id: str) -> Message | None:
    row = (await connection.execute(_BY_SOURCE, {"source": source, "source_id": source_id})).first()
    return model(Message, row) if row else None


async def add_once(connection: Connection, message: Message) -> bool:
    """Store a message unless its channel gave it to us before; whether it is new."""
    added = await connection.execute(_ADD_ONCE(connection), values(message))
    message.id = added.scalar()
    return message.id is not None


async def message_in_conversation(
    connection: Connection, message_id: int
) -> tuple[Message, Conversation]:
    """A stored message and its conversation (both exist: jobs name them)."""
    found = (await connection.execute(_WITH_CONVERSATION, {"id": message_id})).one()
    message, conversation = split(found, messages, conversations)
    assert message is not None
    assert conversation is not None
    return model(Message, message), model(Conversation, conversation)


async def for_thread(
    connection: Connection, message_id: int
) -> tuple[Message, Customer, Thread | None]:
    """A customer's message with what posting it in its conversation's thread takes,
    in one query: the customer, and the thread (None until the card is posted)."""
    found = (await connection.execute(_FOR_THREAD, {"id": message_id})).one()
    message, customer, thread = split(found, messages, customers, threads)
    assert message is not None
    assert customer is not None
    posted = model(Thread, thread) if thread is not None else None
    return model(Message, message), model(Customer, customer), posted


async def transcript(connection: Connection, conversation_id: int) -> list[Message]:
    found = await connection.execute(_TRANSCRIPT, {"conversation": conversation_id})
    return models(Message, found.all())


async def seen_by_customer(
    connection: Connection, customer_id: int, ids: list[int]
) -> list[Message]:
    """Those of these messages that the customer may see, oldest first."""
    found = await connection.execute(_SEEN, {"customer": customer_id, "ids": ids})
    return models(Message, found.all())


async def seen_by_customer_after(
    connection: Connection, customer_id: int, cursor: int, limit: int
) -> list[Message]:
    """What a customer may see (their own, the bot's and employees' messages) after
    message `cursor`, oldest first, across all their conversations."""
    found = await connection.execute(
        _SEEN_AFTER, {"customer": customer_id, "cursor": cursor, "limit": limit}
    )
    return models(Message, found.all())


async def mark_delivered(
    connection: Connection, ids: list[int], now: datetime
) -> list[tuple[int, int]]:
    """Record that the customer's channel accepted these messages; of the employees'
    replies among them, those not recorded before, as (message, conversation): one
    conditional UPDATE, so that of two sockets or instances only one finds each."""
    found = await connection.execute(_DELIVERED, {"ids": ids, "now": now})
    return [(row.id, row.conversation_id) for row in found.all()]


async def mark_seen_up_to(
    connection: Connection, customer_id: int, up_to: int, now: datetime
) -> list[tuple[int, int]]:
    """`mark_delivered` for every employee's reply to this customer up to message
    `up_to`, which their widget says it has shown."""
    params = {"customer": customer_id, "up_to": up_to, "now": now}
    found = await connection.execute(_SEEN_UP_TO, params)
    return [(row.id, row.conversation_id) for row in found.all()]
