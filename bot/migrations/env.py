"""Alembic's environment: runs the revisions over the connection that bot/store/schema.py
passes in `config.attributes`, inside that caller's transaction (so the caller commits,
and on PostgreSQL holds its lock until then)."""

from alembic import context
from sqlmodel import SQLModel

import bot.tables  # noqa: F401 - the models register their tables on import

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=SQLModel.metadata,
    # SQLite alters a table by copying it into a new one; batch mode does that there and
    # plain ALTER TABLE on PostgreSQL, so one revision serves both.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
