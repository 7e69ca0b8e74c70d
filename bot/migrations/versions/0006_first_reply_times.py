"""first reply times

- `assignments.first_reply_seconds`: how much of the assignee's working time passed
  before their first reply (holidays and nights not counted), measured when they wrote
  it, so that "usually replies within" is a median of stored numbers. Replies stored
  before have none and are left out of it;
- an index on `assignments (employee_id, assigned_at)`: one person's recent assignments,
  read at each handoff, without reading their whole history."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("first_reply_seconds", sa.Float(), nullable=True))
    op.create_index("assignments_by_employee", "assignments", ["employee_id", "assigned_at"])


def downgrade() -> None:
    op.drop_index("assignments_by_employee", table_name="assignments")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("first_reply_seconds")
