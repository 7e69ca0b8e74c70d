"""rejected updates, verified customers

- `inbox.rejected`: an update a channel sent with the right credentials that could not
  be read is kept with the reason, acknowledged and never acted on (admins see them at
  /admin/rejected);
- `customers.email` and `customers.verified`: the company's site can vouch for a widget
  visitor (an HMAC of their id under FRONTDESK_WIDGET_SECRET), with their name and
  email; every customer so far is unverified."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("rejected", sa.String(), nullable=True))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("email", sa.String(), nullable=True))
        batch.add_column(
            sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # The default filled the rows already there, and goes: the app always gives a value.
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("verified", existing_type=sa.Boolean(), server_default=None)
