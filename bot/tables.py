"""The stored tables: customers and their contacts, conversations, messages,
assignments, employee status, and the outbox of work still to do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

OPEN_STATUSES = ("waiting", "open")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _at(nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = None
    language: str | None = None
    tags: list[str] = _json(list)
    created_at: datetime = _at()


class Contact(SQLModel, table=True):
    """One way to reach a customer: a channel and that channel's address for them
    (a Telegram chat id; for the widget, a hash of the visitor's token)."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    channel: str
    address: str
    created_at: datetime = _at()


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    # One conversation at a time per customer, even with several app instances.
    __table_args__ = (
        Index(
            "one_open_conversation",
            "customer_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    channel: str
    status: str = Field(default="triage", index=True)  # triage, waiting, open, closed
    # What triage learnt, and where it is: the question it asked, if any.
    intent: str | None = None
    confidence: float | None = None
    entities: dict[str, str] = _json(dict)
    introduced: bool = False  # the bot has said it is a bot
    offered: list[str] = _json(list)  # intents offered in the clarifying question
    asked_for: str | None = None  # the entity the bot asked for
    # Who has it, and the Slack thread it lives in now.
    employee_id: str | None = Field(default=None, index=True)
    slack_channel: str | None = None
    slack_thread_ts: str | None = None
    created_at: datetime = _at()
    closed_at: datetime | None = _at(nullable=True)


class SlackThread(SQLModel, table=True):
    """Every Slack thread a conversation has had (a transfer starts a new one), so a
    reply in an old thread still finds its conversation."""

    __tablename__ = "slack_threads"
    __table_args__ = (UniqueConstraint("channel", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    channel: str
    ts: str
    assignment_id: int = Field(foreign_key="assignments.id", index=True)
    created_at: datetime = _at()


class Message(SQLModel, table=True):
    """A message in a conversation. `source_id` is the channel's own id for it, so a
    message delivered twice by a retrying channel is stored once."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    author: str  # customer, bot, employee, note, system
    employee_id: str | None = None
    body: str = Field(sa_type=Text)
    details: dict[str, Any] = _json(dict)  # quick replies, the employee introduced, ...
    source: str  # web, telegram, slack, bot
    source_id: str | None = None
    created_at: datetime = _at()


class Assignment(SQLModel, table=True):
    """Who was given a conversation, when, and why (the routing reasons)."""

    __tablename__ = "assignments"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    employee_id: str = Field(index=True)
    team_id: str | None = None  # the team chosen within; None when a person was named
    rule: str | None = None
    reasons: list[str] = _json(list)
    assigned_at: datetime = _at()
    first_reply_at: datetime | None = _at(nullable=True)
    ended_at: datetime | None = _at(nullable=True)


class EmployeeStatus(SQLModel, table=True):
    """Live state an admin sets: away or not."""

    __tablename__ = "employee_status"

    employee_id: str = Field(primary_key=True)
    away: bool = False
    updated_at: datetime = _at()


class OutboxJob(SQLModel, table=True):
    """Work that must happen after a commit: classifying, posting to Slack, sending
    to Telegram. Retried with backoff until done; in order within a lane (a
    conversation, or a Telegram chat before it has one)."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    conversation_id: int | None = Field(default=None, index=True)
    lane: str | None = Field(default=None, index=True)  # jobs in one lane run in order
    payload: dict[str, Any] = _json(dict)
    status: str = Field(default="pending", index=True)  # pending, done, failed
    attempts: int = 0
    run_after: datetime = _at(index=True)
    locked_until: datetime | None = _at(nullable=True)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _at()
    finished_at: datetime | None = _at(nullable=True)


class TelegramUpdate(SQLModel, table=True):
    """A Telegram update as received, stored before Telegram is told we have it; its
    id is the key, so a repeated update is recognised whatever order it comes in."""

    __tablename__ = "telegram_updates"

    update_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    payload: dict[str, Any] = _json(dict)
    received_at: datetime = _at()


class LinkCode(SQLModel, table=True):
    """A one-time code that joins a widget visitor and a Telegram chat into one customer."""

    __tablename__ = "link_codes"

    code: str = Field(primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = _at(nullable=True)
