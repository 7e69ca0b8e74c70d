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
from bot.console_layout import Parts, alert, screen, signed_in, table
from bot.figures import Period
from bot.reports import PARTS, report
from bot.sign_in import Session

PAGE = "/admin/console/report"
TITLES = {
    "volume": "Conversations per period and topic",
    "topics": "Topics against the previous period",
    "first_response_teams": "First response per team (working seconds)",
    "first_response_people": "First response per person (working seconds)",
    "first_response_trend": "First response per period",
    "continuity": "Returning customers: did they reach their previous person?",
    "transfers": "Transfers: which topics go where (where routing is wrong)",
    "not_understood": "What the bot did not understand, grouped by shared words",
    "sentiment": "Sentiment of customer messages per period and topic",
    "sentiment_topics": "Sentiment per topic against the previous period",
    "most_negative": "The most negative conversations",
}
CHARTS = {  # part: (label column, value column) of its bar chart
    "volume": ("period_start", "conversations"),
    "topics": ("topic", "conversations"),
    "first_response_people": ("name", "p50_seconds"),
    "first_response_teams": ("team", "p50_seconds"),
    "continuity": ("outcome", "conversations"),
    "transfers": ("topic", "transfers"),
    "sentiment_topics": ("topic", "average"),
}
BAR, WIDTH, LABEL = 22, 640, 200


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
    chart = _chart(name, title, rows) if name in CHARTS else ""
    cells = [[_cell(value) for value in row.values()] for row in rows]
    return head + chart + table(title, list(rows[0]), cells) + link + "</section>"


def _cell(value: Any) -> str:
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
    if isinstance(value, float):
        return f"{value:.2f}"
    return escape("" if value is None else str(value))


def _chart(name: str, title: str, rows: list[dict[str, Any]]) -> str:
    """Horizontal bars, one per label (summed when a label repeats), with the figure
    written at each bar's end; the table below holds the same numbers."""
    label, value = CHARTS[name]
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        totals[str(row.get(label) or row.get("employee") or "—")] += float(row.get(value) or 0)
    if not totals:
        return ""
    top = max(abs(v) for v in totals.values()) or 1.0
    height = BAR * len(totals) + 4
    bars = []
    for i, (text, amount) in enumerate(totals.items()):
        y, size = i * BAR + 2, max(1.0, abs(amount) / top * (WIDTH - LABEL - 60))
        shown = f"{amount:g}" if amount == int(amount) else f"{amount:.2f}"
        bars.append(
            f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(text[:30])}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{size:.1f}" height="{BAR - 6}" '
            f'fill="{"#dc2626" if amount < 0 else "#2563eb"}"></rect>'
            f'<text x="{LABEL + size + 4:.1f}" y="{y + 15}">{shown}</text>'
        )
    return (
        f'<svg role="img" aria-label="Chart: {escape(title)}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}">{"".join(bars)}</svg>'
    )
