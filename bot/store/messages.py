"""Messages: stored once per channel id, read back as a conversation's transcript or
as what a customer has not seen yet."""

from __future__ import annotations

from sqlalchemy import select

from bot.store import Connection
from bot.store.rows import insert_or_ignore, model, models
from bot.tables import CUSTOMER_VISIBLE, Conversation, Message, conversations, messages


async def find_message(connection: Connection, source: str, source_id: str) -> Message | None:
    row = (
        await connection.execute(
            select(messages).where(messages.c.source == source, messages.c.source_id == source_id)
        )
    ).first()
    return model(Message, row) if row else None


async def add_once(connection: Connection, message: Message) -> bool:
    """Store a message unless its channel gave it to us before; whether it is new."""
    added = await connection.execute(
        insert_or_ignore(connection, messages, "source", "source_id")
        .values(message.model_dump(exclude={"id"}))
        .returning(messages.c.id)
    )
    message.id = added.scalar()
    return message.id is not None


async def message_in_conversation(
    connection: Connection, message_id: int
) -> tuple[Message, Conversation]:
    """A stored message and its conversation (both exist: jobs name them)."""
    found = (
        await connection.execute(
            select(messages, conversations)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(messages.c.id == message_id)
        )
    ).one()
    width = len(messages.c)
    message = model(Message, dict(zip(messages.c.keys(), found[:width], strict=True)))
    conversation = model(
        Conversation, dict(zip(conversations.c.keys(), found[width:], strict=True))
    )
    return message, conversation


async def transcript(connection: Connection, conversation_id: int) -> list[Message]:
    rows = await connection.execute(
        select(messages)
        .where(messages.c.conversation_id == conversation_id)
        .order_by(messages.c.id)
    )
    return models(Message, rows.all())


async def seen_by_customer_after(
    connection: Connection, customer_id: int, cursor: int, limit: int
) -> list[Message]:
    """What a customer may see (their own, the bot's and employees' messages) after
    message `cursor`, oldest first, across all their conversations."""
    rows = await connection.execute(
        select(messages)
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .where(conversations.c.customer_id == customer_id, messages.c.id > cursor)
        .where(messages.c.author.in_(CUSTOMER_VISIBLE))
        .order_by(messages.c.id)
        .limit(limit)
    )
    return models(Message, rows.all())
