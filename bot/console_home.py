"""The console's start page (/admin/console): what an admin checks first, each block
linking to the page that has the rest. Who is at work and their open load (the
Roster's rows), the conversations still waiting for their person's first reply (the
longest first, in that person's working time), today's conversations per topic against
the same weekday last week up to the same time (the report's volume figures), and the
newest audit entries. A stranger gets the front door's explanation instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import audit
from bot.access import Access
from bot.admin import roster_rows
from bot.admin_console import HOME, door
from bot.config_versions import ConfigVersions
from bot.console_layout import screen, table
from bot.console_report import cell, change_text, duration
from bot.console_roster import audit_table
from bot.figures import Period, change, topic, volume
from bot.store import Store, history

WAITING_LISTED, AUDIT_LISTED = 8, 5
CONVERSATIONS = "/admin/console/conversations"


class HomePage:
    def __init__(
        self,
        access: Access,
        versions: ConfigVersions,
        store: Store,
        clock: Callable[[], datetime],
    ) -> None:
        self.access, self.versions, self.store, self.clock = access, versions, store, clock

    def routes(self) -> list[Route]:
        return [Route(HOME, self.show)]

    async def show(self, request: Request) -> Response:
        session = await self.access.session(request)
        if session is None:
            return door()
        config, now = self.versions.config, self.clock()
        today = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
        week_ago = today - timedelta(days=7)
        async with self.store.reading() as connection:
            people = await roster_rows(connection, config, now)
            waiting = await history.unanswered(connection)
            started = await history.created(connection, week_ago, now)
            latest = await audit.entries(connection, AUDIT_LISTED)
        name = config.employee(session.employee_id).name
        body = (
            f"<p>Signed in as <strong>{escape(name)}</strong> ({escape(session.employee_id)}); "
            f'it is {now:%A %Y-%m-%d %H:%M} UTC.</p><div class="blocks">'
            + _at_work(people)
            + self._waiting(waiting, now)
            + _today(started, today, week_ago, now)
            + _block(
                "latest",
                "Latest changes",
                "/admin/console/audit",
                audit_table(f"The newest {AUDIT_LISTED} changes", latest, changes=False)
                if latest
                else "<p>No changes yet.</p>",
            )
            + "</div>"
        )
        return screen(request, session, "Frontdesk console", body, here=HOME)

    def _waiting(self, waiting: Sequence[Any], now: datetime) -> str:
        """Open conversations with no reply yet from their person, the longest waiting
        first; the wait counted in that person's working hours (a night is not slow)."""
        config = self.versions.config
        rows = []
        for w in waiting[:WAITING_LISTED]:
            known = config.has_employee(w.employee_id)
            hours = config.employee(w.employee_id).hours if known else None
            waited = (
                hours.working_seconds(w.assigned_at, now)
                if hours
                else (now - w.assigned_at).total_seconds()
            )
            who = config.employee(w.employee_id).name if known else w.employee_id
            rows.append([
                escape(duration(waited)),
                f'<a href="{CONVERSATIONS}/{w.conversation_id}">#{w.conversation_id}</a> '
                + escape(w.name or f"Customer {w.customer_id}"),
                escape(topic(w.intent)),
                escape(who),
            ])  # fmt: skip
        if not rows:
            inner = "<p>Every open conversation has had a first reply.</p>"
        else:
            shown = f"the {len(rows)} longest" if len(waiting) > len(rows) else "all"
            inner = f"<p>{len(waiting)} waiting; {shown} listed.</p>" + table(
                "Waiting for a first reply, the longest first",
                ["Waiting (working time)", "Conversation", "Topic", "With"],
                rows,
            )
        return _block("waiting", "Waiting for a first reply", CONVERSATIONS, inner)


def _block(key: str, title: str, href: str, inner: str) -> str:
    return (
        f'<section class="block" aria-labelledby="{key}"><h2 id="{key}">'
        f'<a href="{href}">{escape(title)}</a></h2>{inner}</section>'
    )


def _at_work(people: list[dict[str, object]]) -> str:
    here = [p for p in people if p["at_work"]]
    rows = [
        [
            escape(str(p["name"])) + (" (away)" if p["away"] else ""),
            f"{p['open_conversations']} of {p['max_open']}"
            f'<meter min="0" max="{p["max_open"]}" value="{p["open_conversations"]}" '
            f'aria-label="Load of {escape(str(p["name"]))}"></meter>',
        ]
        for p in here
    ]
    inner = (
        table(
            f"{len(here)} of {len(people)} at work; "
            f"{sum(bool(p['available']) for p in here)} can take a new conversation",
            ["Person", "Open / max_open"],
            rows,
        )
        if rows
        else "<p>Nobody is at work now.</p>"
    )
    return _block("at-work", "At work now", "/admin/console/roster", inner)


def _today(started: Sequence[Any], today: datetime, week_ago: datetime,
           now: datetime) -> str:  # fmt: skip
    """Today so far against the same weekday last week up to the same time, per topic,
    as the report's volume figures them (that day standing in as the previous period)."""
    then = week_ago + (now - today)
    compared = [c for c in started if c.created_at < then or c.created_at >= today]
    _, topics = volume(compared, Period(today, now))
    now_total = sum(r["conversations"] for r in topics)
    then_total = sum(r["previous"] for r in topics)
    weekday = f"last {week_ago:%A}"
    moved = change_text(change(now_total, then_total), then_total) if now_total else "—"
    summary = (
        f"<p><strong>{now_total}</strong> conversations today until {now:%H:%M} UTC; "
        f"{then_total} by then {escape(weekday)} ({moved}).</p>"
    )
    rows = [
        [escape(r["topic"]), str(r["conversations"]), str(r["previous"]),
         cell("change_percent", r["change_percent"], r)]
        for r in topics
    ]  # fmt: skip
    listed = table(
        f"Conversations per topic, today against {weekday}",
        ["Topic", "Today", weekday.capitalize(), "Change"],
        rows,
    )
    return _block("today", "Today against last week", "/admin/console/report?by=day",
                  summary + (listed if rows else ""))  # fmt: skip
