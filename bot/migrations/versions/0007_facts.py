"""facts

- `facts`: what employees asked to be remembered about a customer (`remember:` in a
  thread), shown on the customer's later cards until someone forgets it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    op.create_table(
        "facts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_facts_customer_id", "facts", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_facts_customer_id", table_name="facts")
    op.drop_table("facts")
