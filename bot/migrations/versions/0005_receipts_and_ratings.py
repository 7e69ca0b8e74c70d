"""delivery receipts, ratings

- `messages.delivered_at`: when the customer's channel accepted an employee's reply
  (sent, or shown on an open widget), so that the desk marks it delivered once. The
  replies stored before are taken as delivered when they were written: no receipt is
  owed for them;
- `ratings`: how a customer rated a conversation when it closed (1 to 5, or skipped),
  one per conversation, with the employee who had it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE messages SET delivered_at = created_at WHERE author = 'employee'")
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id"),
    )
    op.create_index("ix_ratings_customer_id", "ratings", ["customer_id"])
    op.create_index("ix_ratings_employee_id", "ratings", ["employee_id"])


def downgrade() -> None:
    op.drop_index("ix_ratings_employee_id", table_name="ratings")
    op.drop_index("ix_ratings_customer_id", table_name="ratings")
    op.drop_table("ratings")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("delivered_at")
