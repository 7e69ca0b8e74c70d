"""The schema's revision: bring a database to the newest, or say which it has. Alembic
runs the revisions in bot/migrations over a connection the store hands in, inside its
transaction. A database release 0.1 made (before Alembic) is taken for the first."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, inspect

import bot.migrations

SCRIPTS = Path(bot.migrations.__file__).parent
BASELINE = "0001"  # the tables release 0.1 made
_VERSIONS = "alembic_version"


class SchemaError(Exception):
    """A database this version cannot bring up to date: its tables are of no revision
    it knows (made by another program, or by a newer Frontdesk)."""


@dataclass(frozen=True)
class Upgrade:
    before: str | None  # None: the database was empty
    after: str


@cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(SCRIPTS))


def _baseline() -> Script:
    script = scripts().get_revision(BASELINE)
    assert script is not None
    return script


def newest() -> str:
    head = scripts().get_current_head()
    assert head is not None
    return head


def describe(revision: str | None) -> str:
    """A revision as people read it: `0002 (desk threads, the inbox, ...)`."""
    if revision is None:
        return "none (an empty database)"
    script = scripts().get_revision(revision)
    return f"{revision} ({script.doc})" if script is not None else revision


def current(connection: Connection) -> str | None:
    """The database's revision: None for an empty one, the baseline for one 0.1 made."""
    recorded = MigrationContext.configure(connection).get_current_revision()
    if recorded is not None:
        if recorded not in {script.revision for script in scripts().walk_revisions()}:
            raise SchemaError(
                f"The database is at schema revision {recorded!r}, which this version of "
                f"Frontdesk does not know (its newest is {newest()!r}): it was upgraded by "
                "a newer version. Run that version, or restore a backup made before."
            )
        return recorded
    tables = set(inspect(connection).get_table_names()) - {_VERSIONS}
    if not tables:
        return None
    if tables >= _baseline().module.TABLES:
        return BASELINE
    raise SchemaError(
        f"The database has tables ({', '.join(sorted(tables))}) but no schema revision, "
        "and they are not those of Frontdesk 0.1, so it cannot be upgraded. Point "
        "DATABASE_URL at an empty database or at one Frontdesk made."
    )


def upgrade(connection: Connection, target: str = "head") -> Upgrade:
    """Bring the database to `target` (the newest revision unless told), inside the
    caller's transaction; a database already there is left alone."""
    before = current(connection)
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    if before is not None and not inspect(connection).has_table(_VERSIONS):
        command.stamp(config, before)  # 0.1's tables: recorded as the baseline, not rebuilt
    command.upgrade(config, target)
    after = MigrationContext.configure(connection).get_current_revision()
    assert after is not None
    return Upgrade(before, after)
