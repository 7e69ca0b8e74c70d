"""The audit log: every change made through the admin console, the admin API or the
command line (config versions applied or restored, away flags, sign-ins), with who,
when, and what it was before and after. It never holds message bodies or secrets: a
config change is kept as version ids and a diff without context lines."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.store import Connection
from bot.store.rows import add, models
from bot.tables import AuditEntry, audit_log

BEARER = "token"  # the actor for a script using the admin API's bearer token
COMMAND_LINE = "the command line"


async def record(
    connection: Connection,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Note a change, in the transaction that makes it (so one is never without the other)."""
    entry = AuditEntry(
        at=at, actor=actor, action=action, subject=subject, before=before, after=after
    )
    return await add(connection, entry)


async def entries(
    connection: Connection, limit: int, before_id: int | None = None
) -> list[AuditEntry]:
    """The newest entries first; `before_id` pages back through older ones."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return models(AuditEntry, (await connection.execute(query)).all())


def diff(old: str, new: str) -> str:
    """The lines that changed, numbered as in a unified diff, without context lines."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
    return "\n".join(list(lines)[2:])  # without the ---/+++ header


def as_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
    }
