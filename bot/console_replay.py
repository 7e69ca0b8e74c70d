"""The console's What if page: a candidate config replayed against the one in force over
the conversations of a period (the last 30 days unless given), by the engine behind
`POST /admin/replay`: how many would go elsewhere, per rule with examples, load per
person before and after, who would fall to the fallback; and Apply, from there."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.admin_reports import DEFAULT_DAYS
from bot.config_api import MAX_CONFIG
from bot.console_layout import Parts, alert, fields, form, posted, screen, signed_in, table
from bot.replays import what_if
from bot.sign_in import Session
from routing import ConfigError, RoutingConfig

PAGE = "/admin/console/replay"


class Replays:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def routes(self) -> list[Route]:
        access = self.parts.access
        return [
            Route(PAGE, signed_in(access, self.start)),
            Route(PAGE, posted(access, self.run, 3 * MAX_CONFIG), methods=["POST"]),
        ]

    async def start(self, request: Request, session: Session, note: str = "") -> Response:
        """A candidate to replay: the config in force, to edit here or on the Rules page."""
        given = getattr(request.state, "form", {})
        text = given.get("yaml")
        if text is None:
            newest = await self.parts.versions.newest()
            text = newest.text if newest is not None else ""
        body = note + form(
            PAGE,
            session,
            _period(given) + '<p><label for="yaml">Candidate config.yml</label></p>'
            f'<textarea id="yaml" name="yaml" rows="24" data-validate>{escape(text)}</textarea>'
            '<p id="checked" role="status" aria-live="polite"></p>'
            "<p><button>What if</button></p>",
            "Replay a candidate config",
        )
        return screen(request, session, "What if", body)

    async def run(self, request: Request, session: Session) -> Response:
        text = fields(request).get("yaml", "").replace("\r\n", "\n")
        try:
            config = await asyncio.to_thread(self.parts.versions.check, text, "candidate")
        except ConfigError as exc:
            lines = "".join(f"<li>{escape(line)}</li>" for line in exc.lines())
            note = f'<div class="alert" role="alert"><p>Not replayed:</p><ul>{lines}</ul></div>'
            return await self.start(request, session, note)
        return await self.shown(request, session, text, config)

    async def shown(
        self, request: Request, session: Session, text: str, config: RoutingConfig
    ) -> Response:
        """The replay of `config` (whose text is `text`) over the period the form asks."""
        given = fields(request)
        try:
            since, until = self._period(given.get("since", ""), given.get("until", ""))
        except ValueError as exc:
            return await self.start(request, session, alert(str(exc)))
        running = self.parts.versions.config
        found = await what_if(self.parts.store, running, config, since, until)
        apply = form(
            "/admin/console/config",
            session,
            f'<input type="hidden" name="base" value="{self.parts.versions.version}">'
            f'<input type="hidden" name="yaml" value="{escape(text)}">'
            '<input type="hidden" name="comment" value="applied from What if">'
            '<p><button name="action" value="apply">Apply this candidate</button></p>',
            "Apply the candidate",
        )
        body = _summary(found) + apply + _details(found) + await self._again(session, given, text)
        return screen(request, session, "What if", body, here=PAGE)

    async def _again(self, session: Session, given: dict[str, str], text: str) -> str:
        return "<h2>Another period</h2>" + form(
            PAGE,
            session,
            f'{_period(given)}<input type="hidden" name="yaml" value="{escape(text)}">'
            "<p><button>Replay again</button></p>",
            "Replay over another period",
        )

    def _period(self, since: str, until: str) -> tuple[datetime, datetime]:
        end = _day(until, "Until") + timedelta(days=1) if until.strip() else self.parts.clock()
        start = _day(since, "Since") if since.strip() else end - timedelta(days=DEFAULT_DAYS)
        if start >= end:
            raise ValueError("The period is empty: Since is after Until.")
        return start, end


def _day(text: str, field: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text.strip()), time(), tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{field} is a date such as 2026-11-23, not {text!r}.") from None


def _period(given: dict[str, str]) -> str:
    since, until = escape(given.get("since", "")), escape(given.get("until", ""))
    return (
        f'<p><label>Since <input type="date" name="since" value="{since}"></label> '
        f'<label>Until <input type="date" name="until" value="{until}"></label> '
        f"(blank: the last {DEFAULT_DAYS} days)</p>"
    )


def _summary(found: dict[str, Any]) -> str:
    moved = found["other_person"]
    return (
        f'<p class="status" role="status" id="moved">Of {found["conversations"]} conversations '
        f"routed from {escape(found['since'][:10])} to {escape(found['until'][:10])}, "
        f"<strong>{moved} would go to a different person</strong> ({found['other_team']} to a "
        f"different team); {found['to_fallback']['conversations']} would fall to the "
        "fallback.</p>"
    )


def _who(outcome: dict[str, Any]) -> str:
    team = f" ({outcome['team']})" if outcome["team"] else ""
    return escape(f"{outcome['name'] or outcome['employee']}{team}")


def _examples(moves: list[dict[str, Any]]) -> str:
    return (
        "<ul>"
        + "".join(
            f'<li><a href="/admin/console/conversations/{m["conversation_id"]}">#'
            f"{m['conversation_id']}</a> {escape(m['snippet'] or '')}: {_who(m['before'])} → "
            f"{_who(m['after'])}</li>"
            for m in moves
        )
        + "</ul>"
    )


def _details(found: dict[str, Any]) -> str:
    rules = table(
        "Per rule: conversations it takes now, with the candidate, and how many move",
        ["Rule", "Now", "Candidate", "Moved", "Examples"],
        [
            [escape(r["rule"] or "(fallback)"), str(r["before"]), str(r["after"]),
             str(r["moved"]), _examples(r["examples"]) if r["examples"] else ""]
            for r in found["rules"]
        ],
    )  # fmt: skip
    load = table(
        "Load per person: conversations assigned, and the most open at once",
        ["Person", "Assigned now", "With the candidate", "Peak open now", "With the candidate"],
        [
            [escape(p["name"] or p["employee"]), str(p["before_assigned"]),
             str(p["after_assigned"]), str(p["before_peak_open"]), str(p["after_peak_open"])]
            for p in found["load"]
        ],
    )  # fmt: skip
    fallback = found["to_fallback"]
    falls = f"<h2>Falling to the fallback ({fallback['conversations']})</h2>" + (
        _examples(fallback["examples"]) if fallback["examples"] else "<p>None.</p>"
    )
    return rules + load + falls
