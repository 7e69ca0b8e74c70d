"""The stored tables: customers and their contacts, conversations, messages, assignments,
the employees' live state, the threads conversations have on the employees' desk, the
inbox of raw updates from channels, the outbox of work still to do, the record of
erasures, customers' ratings of conversations, what employees remember about
customers, the training examples employees' transfers suggest, and the admins' side:
config versions, sign-in links, sessions, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Index,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

OPEN_STATUSES = ("waiting", "open")
CUSTOMER_VISIBLE = ("customer", "bot", "employee")


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


def _pending_only() -> dict[str, Any]:
    where = text("status = 'pending'")
    return {"sqlite_where": where, "postgresql_where": where}


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = None
    email: str | None = None
    # The company's site vouched for who this is (a widget identity with a valid hash).
    verified: bool = False
    language: str | None = None
    tags: list[str] = _json(list)
    created_at: datetime = _at()


class Contact(SQLModel, table=True):
    """One way to reach a customer: a channel and that channel's address for them
    (a chat id; for the widget, a hash of the visitor's token)."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    channel: str
    address: str
    created_at: datetime = _at()


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        # One conversation at a time per customer, even with several app instances.
        Index(
            "one_open_conversation",
            "customer_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        # The roster counts open conversations per employee without reading history.
        Index("conversations_by_status", "status", "employee_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    channel: str  # where the customer last wrote, and so where replies go
    status: str = "triage"  # triage, waiting, open, closed
    # What triage learnt, and where it is: the question it asked, if any.
    intent: str | None = None
    confidence: float | None = None
    entities: dict[str, str] = _json(dict)
    introduced: bool = False  # the bot has said it is a bot
    offered: list[str] = _json(list)  # intents offered in the clarifying question
    asked_for: str | None = None  # the entity the bot asked for
    # Who has it, and the desk thread that reaches the customer now (None between a
    # transfer and the new card).
    employee_id: str | None = None
    thread_id: int | None = None
    created_at: datetime = _at()
    closed_at: datetime | None = _at(nullable=True)


class Thread(SQLModel, table=True):
    """Every thread a conversation has had on the employees' desk (a transfer starts a
    new one), so that a reply in an old thread still finds its conversation."""

    __tablename__ = "desk_threads"
    __table_args__ = (UniqueConstraint("place", "thread"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    assignment_id: int = Field(foreign_key="assignments.id", index=True)
    place: str  # where on the desk: a channel, a direct message
    thread: str  # the desk's id for the thread's first post
    created_at: datetime = _at()


class Message(SQLModel, table=True):
    """A message in a conversation. `source_id` is the channel's own id for it, so a
    message delivered twice by a retrying channel is stored once (for an employee's
    reply, the desk's reference to it). `delivered_at`: when the customer's channel
    accepted an employee's reply (sent, or shown on an open widget)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("messages_in_order", "conversation_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    author: str  # customer, bot, employee, note, system
    employee_id: str | None = None
    body: str = Field(sa_type=Text)
    details: dict[str, Any] = _json(dict)  # quick replies, the employee introduced, ...
    source: str  # a channel's name, "desk" or "bot"
    source_id: str | None = None
    created_at: datetime = _at()
    delivered_at: datetime | None = _at(nullable=True)


class Assignment(SQLModel, table=True):
    """Who was given a conversation, when, and why (the routing reasons); when they
    first replied, and how much of their working time that took."""

    __tablename__ = "assignments"
    # A person's recent assignments (how fast they usually reply), read at each handoff.
    __table_args__ = (Index("assignments_by_employee", "employee_id", "assigned_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    employee_id: str = Field(index=True)
    team_id: str | None = None  # the team chosen within; None when a person was named
    rule: str | None = None
    reasons: list[str] = _json(list)
    assigned_at: datetime = _at()
    first_reply_at: datetime | None = _at(nullable=True)
    first_reply_seconds: float | None = None  # working time until then
    ended_at: datetime | None = _at(nullable=True)


class EmployeeStatus(SQLModel, table=True):
    """An employee's live state: away or not (set by an admin), and when they were last
    given a conversation (kept here so the roster need not read every assignment)."""

    __tablename__ = "employee_status"

    employee_id: str = Field(primary_key=True)
    away: bool = False
    last_assigned_at: datetime | None = _at(nullable=True)
    updated_at: datetime = _at()


class OutboxJob(SQLModel, table=True):
    """Work that must happen after a commit (see jobs.py), retried with backoff until
    done; in order within a lane (a conversation, or a chat before it has one)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("outbox_due", "run_after", **_pending_only()),
        Index("outbox_lanes", "lane", "id", **_pending_only()),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    conversation_id: int | None = None
    lane: str | None = None  # jobs in one lane run in order
    payload: dict[str, Any] = _json(dict)
    status: str = Field(default="pending", index=True)  # pending, done, failed
    attempts: int = 0
    checkpoint: int = 0  # how far a job done in steps got (parts of a long message)
    run_after: datetime = _at()
    locked_until: datetime | None = _at(nullable=True)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _at()
    finished_at: datetime | None = _at(nullable=True)


class Inbound(SQLModel, table=True):
    """An update from a channel, stored as received before the channel is told we have
    it; its key is the channel's id for it, so a repeat is recognised in any order. An
    update we could not read is kept with the reason, and never acted on. `sender` is
    the address of whoever sent it, when the channel knows it: erasing a customer finds
    their updates by it."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    key: str
    payload: dict[str, Any] = _json(dict)
    rejected: str | None = None  # why it could not be read
    received_at: datetime = _at()
    sender: str | None = None


class LinkCode(SQLModel, table=True):
    """A one-time code that joins a customer on one channel to the same person on another."""

    __tablename__ = "link_codes"

    code: str = Field(primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = _at(nullable=True)


class Erasure(SQLModel, table=True):
    """A record that a customer's data was erased, when and at whose request ("the admin
    API", "the command line"). It holds no personal data, so it names the customer by id
    only, and outlives the customer row should that ever be deleted."""

    __tablename__ = "erasures"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(index=True)
    erased_at: datetime = _at()
    by: str


class Rating(SQLModel, table=True):
    """How a customer rated a conversation when it closed, 1 to 5, or that they skipped
    it (`score` None): one per conversation, kept with the employee who had it."""

    __tablename__ = "ratings"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", unique=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    employee_id: str | None = Field(default=None, index=True)
    score: int | None = None
    comment: str | None = Field(default=None, sa_type=Text)
    rated_at: datetime = _at()


class Fact(SQLModel, table=True):
    """Something an employee asked to be remembered about a customer (`remember:` in a
    conversation's thread): on every later card for them, until someone forgets it."""

    __tablename__ = "facts"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    text: str = Field(sa_type=Text)
    employee_id: str | None = None  # who asked; None: someone not in the config
    created_at: datetime = _at()


class Suggestion(SQLModel, table=True):
    """A training example an employee's transfer suggested (bot/suggestions.py): the
    customer's first message and the intent that fitted where the conversation went,
    beside what the NLU made of it. One per conversation; it enters the NLU data only
    once someone accepts it. The same words for the same intent are counted together
    (`normalised`)."""

    __tablename__ = "suggestions"
    __table_args__ = (Index("suggestions_by_example", "normalised", "suggested_intent"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", unique=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    text: str = Field(sa_type=Text)
    normalised: str = Field(sa_type=Text)  # casefolded words: what counts as the same
    original_intent: str | None = None  # what the NLU said (None: it was down or unsure)
    original_confidence: float | None = None
    suggested_intent: str
    employee_id: str  # who transferred: an employee's id, or the desk's for someone else
    created_at: datetime = _at()
    status: str = "suggested"  # suggested, accepted, rejected
    decided_by: str | None = None
    decided_at: datetime | None = _at(nullable=True)


class ConfigVersion(SQLModel, table=True):
    """A version of config.yml as applied; the newest is the one in force (restoring an
    old version stores its text again, as a new version)."""

    __tablename__ = "config_versions"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_type=Text)
    author: str  # an admin's employee id, "token", "config.yml", "the command line"
    comment: str | None = None
    restored_from: int | None = None
    created_at: datetime = _at()


class SignInLink(SQLModel, table=True):
    """A one-time link into the admin console; only a hash of its token is kept."""

    __tablename__ = "sign_in_links"

    token_hash: str = Field(primary_key=True)
    employee_id: str
    created_at: datetime = _at()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = _at(nullable=True)


class AdminSession(SQLModel, table=True):
    """A signed-in admin's browser (the cookie's token, hashed); ends when idle too long."""

    __tablename__ = "admin_sessions"

    token_hash: str = Field(primary_key=True)
    employee_id: str
    created_at: datetime = _at()
    seen_at: datetime = _at()


class AuditEntry(SQLModel, table=True):
    """A change an admin made (or a script, with the token): who, what, when, what it
    was before and after (for config, version ids and a diff without context lines)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at(index=True)
    actor: str  # an admin's employee id, "token", "the command line"
    action: str  # config.apply, config.restore, employee.away, sign_in, sign_out
    subject: str | None = None  # an employee id, a version id
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for the queries on the hot path."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


customers = table(Customer)
contacts = table(Contact)
conversations = table(Conversation)
threads = table(Thread)
messages = table(Message)
assignments = table(Assignment)
employee_status = table(EmployeeStatus)
outbox = table(OutboxJob)
inbox = table(Inbound)
link_codes = table(LinkCode)
erasures = table(Erasure)
ratings = table(Rating)
facts = table(Fact)
suggestions = table(Suggestion)
config_versions = table(ConfigVersion)
sign_in_links = table(SignInLink)
admin_sessions = table(AdminSession)
audit_log = table(AuditEntry)
