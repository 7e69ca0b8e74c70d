"""The admin API's figures (issue 8): `POST /admin/replay`, what a candidate config
would have done to the conversations of a period, and `GET /admin/report`, the
listening report, as JSON or one part at a time as CSV. Mounted beside bot/admin.py
behind the same guard."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import payloads
from bot.figures import Period, Row
from bot.replays import candidate, what_if
from bot.reports import PARTS, report
from bot.store import Store
from routing import ConfigError, RoutingConfig

Endpoint = Callable[[Request], Awaitable[Response]]
DEFAULT_DAYS = 30
LONGEST = timedelta(days=366)
MAX_CONFIG = 1024 * 1024  # bytes of a candidate config; config.yml is about 10 KB
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting so


class ReplayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config_yaml: str = Field(min_length=1)
    since: str | None = None  # as the report's from and to
    until: str | None = None


class BadQuery(Exception):
    """A query we cannot answer, in words for the admin."""


class AdminReports:
    def __init__(
        self, store: Store, config: Callable[[], RoutingConfig], clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def routes(self, guard: Callable[[Endpoint], Endpoint]) -> list[Route]:
        """Behind `guard`: the admin API's check of who is asking."""
        return [
            Route("/admin/replay", guard(self.replay), methods=["POST"]),
            Route("/admin/report", guard(self.report)),
        ]

    async def replay(self, request: Request) -> Response:
        """What the candidate config (YAML text) would change over [since, until) (the
        last 30 days unless given): checked as `frontdesk check-config` checks a file."""
        try:
            query = ReplayQuery.model_validate_json(await payloads.read(request, MAX_CONFIG))
            since, until = self._period(_when(query.since), _when(query.until))
            proposed = candidate(query.config_yaml)
        except payloads.Refused as refused:
            return refused.response()
        except ValidationError as exc:
            problems = [
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            ]
            return _error(400, "bad request", problems)
        except BadQuery as exc:
            return _error(400, str(exc))
        except ConfigError as exc:
            return _error(400, "config not valid", exc.lines())
        found = await what_if(self.store, self.config(), proposed, since, until)
        return JSONResponse(found)

    async def report(self, request: Request) -> Response:
        """?from=&to= (dates or ISO times; `to` as a date counts that whole day; the last
        30 days unless given), by=day|week, format=json|csv, part= (one of PARTS; needed
        for CSV)."""
        params = request.query_params
        by, kind, part = params.get("by", "day"), params.get("format", "json"), params.get("part")
        try:
            since, until = self._period(_when(params.get("from")), _when(params.get("to")))
            if by not in ("day", "week"):
                raise BadQuery(f"by is day or week, not {by!r}")
            if kind not in ("json", "csv"):
                raise BadQuery(f"format is json or csv, not {kind!r}")
            if part is not None and part not in PARTS:
                raise BadQuery(f"no part {part!r}; the parts are {', '.join(PARTS)}")
            if kind == "csv" and part is None:
                raise BadQuery(f"a CSV is one part: add part= one of {', '.join(PARTS)}")
        except BadQuery as exc:
            return _error(400, str(exc))
        period = Period(since, until, "week" if by == "week" else "day")
        parts = await report(self.store, self.config(), period)
        if kind == "csv" and part is not None:
            name = f"frontdesk-{part}-{since:%Y%m%d}-{until:%Y%m%d}.csv"
            return Response(
                as_csv(parts[part]),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        head = {"from": since.isoformat(), "to": until.isoformat(), "by": by,
                "previous_from": period.previous.start.isoformat()}  # fmt: skip
        if part is not None:
            return JSONResponse({**head, part: parts[part]})
        return JSONResponse({**head, "parts": parts})

    def _period(
        self, since: datetime | date | None, until: datetime | date | None
    ) -> tuple[datetime, datetime]:
        end = _instant(until, end=True) if until is not None else self.clock()
        start = _instant(since) if since is not None else end - timedelta(days=DEFAULT_DAYS)
        if start >= end:
            raise BadQuery(
                f"the period is empty: {start.isoformat()} is not before {end.isoformat()}"
            )
        if end - start > LONGEST:
            raise BadQuery(f"the period is longer than {LONGEST.days} days")
        return start, end


def _when(text: str | None) -> datetime | date | None:
    """A query parameter as a date (2026-11-23) or an ISO time."""
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{text!r} is not a date (2026-11-23) or an ISO time") from None


def _instant(when: datetime | date, *, end: bool = False) -> datetime:
    """A time without a zone is UTC; a date is its midnight, or as an end the next one."""
    if isinstance(when, datetime):
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    day = when + timedelta(days=1) if end else when
    return datetime.combine(day, time(), tzinfo=UTC)


def as_csv(rows: list[Row]) -> str:
    """A table as CSV: a header of its keys, examples in one cell, and text a
    spreadsheet would run as a formula quoted with a leading apostrophe."""
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        value = "; ".join(f"{e['conversation_id']}: {e['snippet']}" for e in value)
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _error(status: int, message: str, problems: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status)
