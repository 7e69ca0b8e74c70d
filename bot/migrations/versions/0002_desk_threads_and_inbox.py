"""desk threads, the inbox, the roster's state, job checkpoints

From release 0.1 to the schema the core has spoken since it stopped naming vendors,
every row kept:
- `slack_threads(channel, ts)` becomes `desk_threads(place, thread)`, ids kept;
- `conversations.slack_channel/slack_thread_ts` become `conversations.thread_id`, the id
  of the desk thread they named;
- `telegram_updates(update_id)` becomes the `inbox` of every channel, keyed by
  (`telegram`, the update id as text);
- `employee_status.last_assigned_at`, filled from each employee's latest assignment
  (the roster reads it there instead of from every assignment, so an employee who was
  ever assigned gets a row);
- `outbox.checkpoint`, 0 for the jobs already queued. Their 0.1 kinds and payloads
  stay as they are: bot/legacy.py reads them;
- the indexes today's queries use, instead of 0.1's one per column.

Tables are altered in batch mode: on SQLite, Alembic copies the table into a new one
(bot/store/sqlite.py turns foreign keys off around it and checks them before the
commit); on PostgreSQL it runs ALTER TABLE."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"

_PENDING = sa.text("status = 'pending'")

# The tables as the data moves below see them (names only; the DDL is in op calls).
slack_threads = sa.table(
    "slack_threads",
    *(sa.column(name) for name in ("id", "conversation_id", "assignment_id", "channel", "ts")),
    sa.column("created_at"),
)
desk_threads = sa.table(
    "desk_threads",
    *(sa.column(name) for name in ("id", "conversation_id", "assignment_id", "place", "thread")),
    sa.column("created_at"),
)
conversations = sa.table(
    "conversations",
    sa.column("thread_id"),
    sa.column("slack_channel"),
    sa.column("slack_thread_ts"),
)
assignments = sa.table("assignments", sa.column("employee_id"), sa.column("assigned_at"))
employee_status = sa.table(
    "employee_status",
    sa.column("employee_id"),
    sa.column("away"),
    sa.column("last_assigned_at"),
    sa.column("updated_at"),
)
telegram_updates = sa.table(
    "telegram_updates", sa.column("update_id"), sa.column("payload"), sa.column("received_at")
)
inbox = sa.table(
    "inbox", sa.column("channel"), sa.column("key"), sa.column("payload"), sa.column("received_at")
)


def upgrade() -> None:
    _desk_threads()
    _conversations()
    _messages()
    _employee_status()
    _outbox()
    _inbox()


def _desk_threads() -> None:
    op.create_table(
        "desk_threads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"), nullable=False),
        sa.Column("place", sa.String(), nullable=False),
        sa.Column("thread", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("place", "thread"),
    )
    op.create_index("ix_desk_threads_assignment_id", "desk_threads", ["assignment_id"])
    op.create_index("ix_desk_threads_conversation_id", "desk_threads", ["conversation_id"])
    # A new table rather than a renamed one, so that its constraints and sequence are
    # named as for any table of today; ids are kept, as conversations point at them.
    old = slack_threads.c
    op.execute(
        desk_threads.insert().from_select(
            ["id", "conversation_id", "assignment_id", "place", "thread", "created_at"],
            sa.select(old.id, old.conversation_id, old.assignment_id, old.channel, old.ts,
                      old.created_at),
        )
    )  # fmt: skip
    if op.get_context().dialect.name == "postgresql":
        # The ids came with the rows: the next one the sequence gives must follow them.
        sequence = sa.func.pg_get_serial_sequence("desk_threads", "id")
        op.execute(sa.select(sa.func.setval(sequence, sa.func.max(desk_threads.c.id))))
    op.drop_table("slack_threads")


def _conversations() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
    # 0.1 recorded every thread it pointed a conversation at in slack_threads, so each
    # (channel, ts) finds its row.
    named = (
        sa.select(desk_threads.c.id)
        .where(desk_threads.c.place == conversations.c.slack_channel)
        .where(desk_threads.c.thread == conversations.c.slack_thread_ts)
        .scalar_subquery()
    )
    op.execute(
        conversations.update()
        .where(conversations.c.slack_thread_ts.is_not(None))
        .values(thread_id=named)
    )
    # Today the roster counts open conversations per employee through one index.
    op.drop_index("ix_conversations_status", table_name="conversations")
    op.drop_index("ix_conversations_employee_id", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("slack_channel")
        batch.drop_column("slack_thread_ts")
    op.create_index("conversations_by_status", "conversations", ["status", "employee_id"])


def _messages() -> None:
    # A transcript reads a conversation's messages in order, from the index alone.
    op.drop_index("ix_messages_conversation_id", table_name="messages")
    op.create_index("messages_in_order", "messages", ["conversation_id", "id"])


def _employee_status() -> None:
    with op.batch_alter_table("employee_status") as batch:
        batch.add_column(sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True))
    latest = (
        sa.select(sa.func.max(assignments.c.assigned_at))
        .where(assignments.c.employee_id == employee_status.c.employee_id)
        .scalar_subquery()
    )
    op.execute(employee_status.update().values(last_assigned_at=latest))
    # 0.1 made a row only when an admin set someone away; today the roster knows an
    # employee's last assignment from their row alone.
    last = sa.func.max(assignments.c.assigned_at)
    op.execute(
        employee_status.insert().from_select(
            ["employee_id", "away", "last_assigned_at", "updated_at"],
            sa.select(assignments.c.employee_id, sa.false(), last, last)
            .where(assignments.c.employee_id.not_in(sa.select(employee_status.c.employee_id)))
            .group_by(assignments.c.employee_id),
        )
    )


def _outbox() -> None:
    # Workers claim pending jobs by due time and by lane: two partial indexes instead of
    # one per column (jobs done and failed stay in the table, outside them).
    for column in ("conversation_id", "kind", "lane", "run_after"):
        op.drop_index(f"ix_outbox_{column}", table_name="outbox")
    # The default fills the rows already there, and goes: the app always gives a value.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("checkpoint", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("checkpoint", existing_type=sa.Integer(), server_default=None)
    pending: dict[str, Any] = {"sqlite_where": _PENDING, "postgresql_where": _PENDING}
    op.create_index("outbox_due", "outbox", ["run_after"], **pending)
    op.create_index("outbox_lanes", "outbox", ["lane", "id"], **pending)


def _inbox() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "key"),
    )
    # The key is the update id as text, as bot/telegram.py keys updates today (and as
    # bot/legacy.py finds them for 0.1's queued `telegram.update` jobs).
    old = telegram_updates.c
    op.execute(
        inbox.insert().from_select(
            ["channel", "key", "payload", "received_at"],
            sa.select(sa.literal("telegram"), sa.cast(old.update_id, sa.String()), old.payload,
                      old.received_at).order_by(old.update_id),
        )
    )  # fmt: skip
    op.drop_table("telegram_updates")


def downgrade() -> None:
    raise NotImplementedError("going back to 0.1's schema is not supported: restore a backup")
