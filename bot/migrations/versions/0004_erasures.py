"""erasures, inbox senders

- `erasures`: a record of each erasure of a customer's data (`frontdesk customers
  erase`, `POST /admin/customers/{id}/erase`): the customer's id, when, and at whose
  request. No personal data, and no foreign key: the record outlives the customer row;
- `inbox.sender`: the channel's address of whoever sent an update, so that erasing a
  customer finds their raw updates (unknown, NULL, for the updates stored before)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
    )
    op.create_index("ix_erasures_customer_id", "erasures", ["customer_id"])
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("sender", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("sender")
    op.drop_index("ix_erasures_customer_id", table_name="erasures")
    op.drop_table("erasures")
