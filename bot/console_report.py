"""The console's Report page: the listening report (bot/reports.py, as `GET /admin/report`
computes it) per day or week, each part a table with a bar chart where one reads faster
(inline SVG drawn here, no script) and a CSV download."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.admin_reports import DEFAULT_DAYS
from bot.console_chart import bars, plain
from bot.console_layout import Parts, alert, screen, signed_in, table
from bot.figures import Period
from bot.reports import PARTS, report
from bot.sign_in import Session

PAGE = "/admin/console/report"
TITLES = {
    "volume": "Conversations per period and topic",
    "topics": "Topics against the previous period",
    "first_response_teams": "First response per team, in working time",
    "first_response_people": "First response per person, in working time",
    "first_response_trend": "First response per period",
    "continuity": "Returning customers: did they reach their previous person?",
    "transfers": "Transfers: which topics go where (where routing is wrong)",
    "not_understood": "What the bot did not understand, grouped by shared words",
    "sentiment": "Sentiment of customer messages per period and topic",
    "sentiment_topics": "Sentiment per topic against the previous period",
    "most_negative": "The most negative conversations",
}
COLUMNS = {  # each table column's heading (the CSV and JSON keep the keys: the API)
    "period_start": "Day", "topic": "Topic", "conversations": "Conversations",
    "previous": "Previous period", "change_percent": "Change", "team": "Team",
    "employee": "Id", "name": "Person", "replies": "Replies", "waiting": "Not answered yet",
    "p50_seconds": "Median first reply", "p90_seconds": "9 in 10 within",
    "outcome": "Outcome", "share": "Share", "from_team": "From team", "to_team": "To team",
    "transfers": "Transfers", "words": "Shared words", "new": "New this period",
    "examples": "Examples", "messages": "Messages", "average": "Average sentiment",
    "previous_average": "Previous period's average", "change": "Change",
    "conversation_id": "Conversation", "worst": "Most negative message",
}  # fmt: skip
OUTCOMES = {  # continuity's outcomes (routing.reasons.MISSED), in words
    "reached": "Reached their previous person", "away": "Previous person was away",
    "off_shift": "Previous person was off shift",
    "at_capacity": "Previous person was at their limit",
    "rule_elsewhere": "A rule sent them elsewhere", "left": "Previous person has left",
}  # fmt: skip
CHARTS = {  # part: (label column, value column, what the chart shows, its unit)
    "volume": ("period_start", "conversations", "Conversations started per {by}, all topics",
               "conversations"),
    "topics": ("topic", "conversations", "Conversations per topic in this period",
               "conversations"),
    "first_response_teams": ("team", "p50_seconds", "Median first reply per team",
                             "working time"),
    "first_response_people": ("name", "p50_seconds", "Median first reply per person",
                              "working time"),
    "continuity": ("outcome", "conversations", "Returning customers by outcome",
                   "conversations"),
    "transfers": ("topic", "transfers", "Transfers per topic", "transfers"),
    "sentiment_topics": ("topic", "average", "Average sentiment per topic",
                         "score from -1 (negative) to +1 (positive)"),
}  # fmt: skip
SECONDS = ("p50_seconds", "p90_seconds")


class ReportPage:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def routes(self) -> list[Route]:
        return [Route(PAGE, signed_in(self.parts.access, self.show))]

    async def show(self, request: Request, session: Session) -> Response:
        query = request.query_params
        by: Literal["day", "week"] = "week" if query.get("by") == "week" else "day"
        until = self.parts.clock()
        since = until - timedelta(days=DEFAULT_DAYS)
        try:
            if query.get("from"):
                since = _day(query["from"])
            if query.get("to"):
                until = _day(query["to"]) + timedelta(days=1)
        except ValueError:
            return screen(request, session, "Report", alert("Dates are written 2026-11-23."), 400)
        if since >= until or until - since > timedelta(days=366):
            wrong = alert("Pick a period of up to 366 days, From before To.")
            return screen(request, session, "Report", wrong, 400)
        parts = await report(self.parts.store, self.parts.versions.config, Period(since, until, by))
        last = until - timedelta(days=1) if query.get("to") else until
        period = {"from": f"{since:%Y-%m-%d}", "to": f"{last:%Y-%m-%d}", "by": by}
        body = _chooser(period) + "".join(_part(name, parts[name], period) for name in PARTS)
        return screen(request, session, "Report", body)


def _day(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)


def _chooser(period: dict[str, str]) -> str:
    by = "".join(
        f"<option{' selected' if b == period['by'] else ''}>{b}</option>" for b in ("day", "week")
    )
    return (
        f'<form method="get" action="{PAGE}" aria-label="Period">'
        f'<label>From <input type="date" name="from" value="{period["from"]}"></label>'
        f'<label>To <input type="date" name="to" value="{period["to"]}"></label>'
        f'<label>By <select name="by">{by}</select></label><button>Show</button></form>'
    )


def _part(name: str, rows: list[dict[str, Any]], period: dict[str, str]) -> str:
    csv = "/admin/report?" + urlencode({**period, "format": "csv", "part": name})
    title = TITLES.get(name, name)
    head = f'<section aria-labelledby="{name}"><h2 id="{name}">{escape(title)}</h2>'
    link = f'<p><a href="{escape(csv)}" download>Download “{escape(title)}” as CSV</a></p>'
    if not rows:
        return head + "<p>Nothing in this period.</p>" + link + "</section>"
    chart = _chart(name, rows, period["by"]) if name in CHARTS else ""
    cells = [[cell(key, value, row) for key, value in row.items()] for row in rows]
    listed = table(title, headings(list(rows[0]), period["by"]), cells)
    return head + chart + listed + link + "</section>"


def headings(keys: list[str], by: str) -> list[str]:
    """The columns' headings for people; `by` names the period column (Day, Week of)."""
    named = {**COLUMNS, "period_start": "Week of" if by == "week" else "Day"}
    return [named.get(key, key.replace("_", " ").capitalize()) for key in keys]


def cell(key: str, value: Any, row: dict[str, Any]) -> str:
    """One table cell, escaped, written for people: durations, signed changes, shares."""
    if isinstance(value, list):
        return (
            "<ul>"
            + "".join(
                f'<li><a href="/admin/console/conversations/{e["conversation_id"]}">'
                f"#{e['conversation_id']}</a> {escape(str(e.get('snippet') or ''))}</li>"
                for e in value
            )
            + "</ul>"
        )
    if key == "change_percent":
        return change_text(value, row.get("previous"))
    if key == "conversation_id":
        return f'<a href="/admin/console/conversations/{int(value)}">#{int(value)}</a>'
    if value is None:
        return "—"
    if key in SECONDS:
        return escape(duration(float(value)))
    if key == "share":
        return f"{float(value) * 100:.0f}%"
    if key == "change":
        return f"{float(value):+.2f}"
    if key == "new":
        return "new" if value else ""
    if key == "outcome":
        return escape(OUTCOMES.get(str(value), str(value)))
    if isinstance(value, float):
        return f"{value:.2f}"
    return escape(str(value))


def change_text(percent: float | None, previous: object) -> str:
    """A change against the previous period as a signed percentage; "new" when there
    was nothing before (no percentage of zero means anything)."""
    if percent is None:
        return "new" if previous == 0 else "—"
    return f"{percent:+.1f}%" if percent else "±0%"


def duration(seconds: float) -> str:
    """Working time as people say it: 45 s, 3 min 20 s, 2 h 05 min, 3 d 4 h."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s" if whole % 60 else f"{whole // 60} min"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def _chart(name: str, rows: list[dict[str, Any]], by: str) -> str:
    """The part's chart: one bar per label, summed when a label repeats (volume's
    topics on one day), durations shown as such and continuity's outcomes in words."""
    label, value, title, unit = CHARTS[name]
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        if row.get(value) is None:
            continue
        text = str(row.get(label) or row.get("employee") or "—")
        totals[OUTCOMES.get(text, text) if label == "outcome" else text] += float(row[value])
    shown = duration if value in SECONDS else plain
    return bars(f"chart-{name}", title.format(by=by), unit, list(totals.items()), shown)
