"""suggested training examples

- `suggestions`: the customer's first message and the intent that fitted, suggested
  by an employee's transfer (one per conversation), until someone accepts or rejects
  it for the NLU's training data."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalised", sa.Text(), nullable=False),
        sa.Column("original_intent", sa.String(), nullable=True),
        sa.Column("original_confidence", sa.Float(), nullable=True),
        sa.Column("suggested_intent", sa.String(), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("conversation_id"),
    )
    op.create_index("ix_suggestions_customer_id", "suggestions", ["customer_id"])
    op.create_index("suggestions_by_example", "suggestions", ["normalised", "suggested_intent"])


def downgrade() -> None:
    op.drop_index("suggestions_by_example", table_name="suggestions")
    op.drop_index("ix_suggestions_customer_id", table_name="suggestions")
    op.drop_table("suggestions")
