"""the tables of release 0.1

The baseline: the schema release 0.1 made with `create_all`, written out as it came out
of bot/tables.py at 0.1 (SQLModel's defaults: strings are VARCHAR, `index=True` makes
`ix_<table>_<column>`, other constraints are unnamed). A database 0.1 made has these
tables and no `alembic_version`; bot/store/schema.py recognises it and records it as
this revision rather than running it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None

# What this revision creates: a database with all of these and no revision is 0.1's.
TABLES = frozenset(
    {"customers", "contacts", "conversations", "slack_threads", "messages", "assignments",
     "employee_status", "outbox", "telegram_updates", "link_codes"}
)  # fmt: skip


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A timestamp (bot.tables.UTCDateTime stores through this type)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False)


def _text(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _refers(name: str, target: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=False)


def _index(table: str, column: str) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "customers",
        _id(),
        _text("name", nullable=True),
        _text("language", nullable=True),
        _json("tags"),
        _at("created_at"),
    )
    op.create_table(
        "employee_status",
        sa.Column("employee_id", sa.String(), primary_key=True),
        sa.Column("away", sa.Boolean(), nullable=False),
        _at("updated_at"),
    )
    op.create_table(
        "outbox",
        _id(),
        _text("kind"),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        _text("lane", nullable=True),
        _json("payload"),
        _text("status"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("run_after"),
        _at("locked_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("created_at"),
        _at("finished_at", nullable=True),
    )
    for column in ("conversation_id", "kind", "lane", "run_after", "status"):
        _index("outbox", column)
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        _json("payload"),
        _at("received_at"),
    )
    op.create_table(
        "contacts",
        _id(),
        _refers("customer_id", "customers"),
        _text("channel"),
        _text("address"),
        _at("created_at"),
        sa.UniqueConstraint("channel", "address"),
    )
    _index("contacts", "customer_id")
    op.create_table(
        "conversations",
        _id(),
        _refers("customer_id", "customers"),
        _text("channel"),
        _text("status"),
        _text("intent", nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        _json("entities"),
        sa.Column("introduced", sa.Boolean(), nullable=False),
        _json("offered"),
        _text("asked_for", nullable=True),
        _text("employee_id", nullable=True),
        _text("slack_channel", nullable=True),
        _text("slack_thread_ts", nullable=True),
        _at("created_at"),
        _at("closed_at", nullable=True),
    )
    for column in ("customer_id", "employee_id", "status"):
        _index("conversations", column)
    not_closed = sa.text("status != 'closed'")
    op.create_index(
        "one_open_conversation",
        "conversations",
        ["customer_id"],
        unique=True,
        sqlite_where=not_closed,
        postgresql_where=not_closed,
    )
    op.create_table(
        "link_codes",
        sa.Column("code", sa.String(), primary_key=True),
        _refers("customer_id", "customers"),
        _at("expires_at"),
        _at("used_at", nullable=True),
    )
    _index("link_codes", "customer_id")
    op.create_table(
        "assignments",
        _id(),
        _refers("conversation_id", "conversations"),
        _text("employee_id"),
        _text("team_id", nullable=True),
        _text("rule", nullable=True),
        _json("reasons"),
        _at("assigned_at"),
        _at("first_reply_at", nullable=True),
        _at("ended_at", nullable=True),
    )
    _index("assignments", "conversation_id")
    _index("assignments", "employee_id")
    op.create_table(
        "messages",
        _id(),
        _refers("conversation_id", "conversations"),
        _text("author"),
        _text("employee_id", nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        _json("details"),
        _text("source"),
        _text("source_id", nullable=True),
        _at("created_at"),
        sa.UniqueConstraint("source", "source_id"),
    )
    _index("messages", "conversation_id")
    op.create_table(
        "slack_threads",
        _id(),
        _refers("conversation_id", "conversations"),
        _text("channel"),
        _text("ts"),
        _refers("assignment_id", "assignments"),
        _at("created_at"),
        sa.UniqueConstraint("channel", "ts"),
    )
    _index("slack_threads", "assignment_id")
    _index("slack_threads", "conversation_id")


def downgrade() -> None:
    raise NotImplementedError("there is no schema before release 0.1's to go back to")
