"""The admin API under /admin, for scripts with FRONTDESK_ADMIN_TOKEN (a bearer token) and
signed-in admins (bot/access.py): who is available, conversations, "who would get this
message and why", away flags, outbox jobs that failed, updates from channels that could not be
read, customers' ratings per employee, and a customer's data exported or erased."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import audit, payloads, ratings
from bot.access import Endpoint
from bot.dryrun import dry_run
from bot.presenter import within
from bot.privacy import Privacy, UnknownCustomer
from bot.reply_times import usual_replies
from bot.store import Connection, Store, queue
from bot.store import conversations as stored
from bot.tables import utcnow
from nlu import Classification
from routing import Channel, EmployeeState, RoutingConfig, availability

Model = TypeVar("Model", bound=BaseModel)
_MAX_BODY = 64 * 1024


class RouteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)
    channel: Channel = "web"
    customer_id: int | None = None
    language: str | None = None
    tags: list[str] = []


class AwayFlag(BaseModel):
    model_config = ConfigDict(extra="forbid")
    away: bool


class Admin:
    def __init__(
        self,
        guard: Callable[[Endpoint], Endpoint],
        store: Store,
        config: Callable[[], RoutingConfig],
        classify: Callable[[str], Awaitable[Classification]],
        clock: Callable[[], datetime] = utcnow,
        *,
        privacy: Privacy,
    ) -> None:
        self.guard = guard
        self.store = store
        self.config = config
        self.classify = classify
        self.clock = clock
        self.privacy = privacy

    def routes(self) -> list[Route]:
        return [
            Route("/admin/roster", self.guard(self.roster)),
            Route("/admin/conversations", self.guard(self.conversations)),
            Route("/admin/route", self.guard(self.route), methods=["POST"]),
            Route("/admin/employees/{employee_id}/away", self.guard(self.away), methods=["PUT"]),
            Route("/admin/outbox", self.guard(self.outbox)),
            Route("/admin/rejected", self.guard(self.rejected)),
            Route("/admin/ratings", self.guard(self.ratings)),
            Route("/admin/customers/{customer_id:int}/export", self.guard(self.export)),
            Route(
                "/admin/customers/{customer_id:int}/erase",
                self.guard(self.erase),
                methods=["POST"],
            ),
        ]

    async def roster(self, request: Request) -> Response:
        async with self.store.reading() as connection:
            people = await roster_rows(connection, self.config(), self.clock())
        return JSONResponse({"employees": people})

    async def conversations(self, request: Request) -> Response:
        status = request.query_params.get("status")
        async with self.store.reading() as connection:
            rows = await stored.recent(connection, status, limit(request))
        return JSONResponse(
            {
                "conversations": [
                    {
                        "id": c.id,
                        "customer_id": c.customer_id,
                        "channel": c.channel,
                        "status": c.status,
                        "intent": c.intent,
                        "employee_id": c.employee_id,
                        "created_at": c.created_at.isoformat(),
                    }
                    for c in rows
                ]
            }
        )

    async def route(self, request: Request) -> Response:
        query = await body(request, RouteQuery)
        if isinstance(query, Response):
            return query
        async with self.store.reading() as connection:
            roster = await stored.roster(connection)
            previous = (
                await stored.previous_employee(connection, query.customer_id)
                if query.customer_id
                else None
            )
        result = await dry_run(
            query.text,
            classify=self.classify,
            config=self.config(),
            roster=roster,
            now=self.clock(),
            channel=query.channel,
            previous_employee=previous,
            language=query.language,
            tags=frozenset(query.tags),
        )
        return JSONResponse(result)

    async def away(self, request: Request) -> Response:
        employee_id = request.path_params["employee_id"]
        if not self.config().has_employee(employee_id):
            return error(404, f"no employee {employee_id!r} in the config")
        flag = await body(request, AwayFlag)
        if isinstance(flag, Response):
            return flag
        await mark_away(self.store, self.clock(), request.state.admin, employee_id, flag.away)
        return JSONResponse({"employee": employee_id, "away": flag.away})

    async def ratings(self, request: Request) -> Response:
        """Per employee: customers' ratings over the last `days` (30 unless given)."""
        days = request.query_params.get("days", "30")
        if not days.isdigit() or not 1 <= int(days) <= 3650:
            return error(400, f"days is a whole number from 1 to 3650, not {days!r}")
        since = self.clock() - timedelta(days=int(days))
        found = await ratings.report(self.store, self.config(), since)
        return JSONResponse({"since": since.isoformat(), "employees": found})

    async def outbox(self, request: Request) -> Response:
        status = request.query_params.get("status", "failed")
        async with self.store.reading() as connection:
            rows = await queue.jobs(connection, status)
        return JSONResponse(
            {
                "jobs": [
                    {
                        "id": j.id,
                        "kind": j.kind,
                        "conversation_id": j.conversation_id,
                        "attempts": j.attempts,
                        "last_error": j.last_error,
                        "created_at": j.created_at.isoformat(),
                    }
                    for j in rows
                ]
            }
        )

    async def rejected(self, request: Request) -> Response:
        """Updates a channel sent that could not be read: kept, never acted on."""
        async with self.store.reading() as connection:
            rows = await queue.rejected_inbound(connection, limit(request))
        return JSONResponse(
            {
                "rejected": [
                    {"channel": r.channel, "key": r.key, "reason": r.rejected,
                     "received_at": r.received_at.isoformat()}
                    for r in rows
                ]
            }
        )  # fmt: skip

    async def export(self, request: Request) -> Response:
        """Everything stored about a customer (GET /admin/customers/{id}/export)."""
        try:
            return JSONResponse(await self.privacy.export(request.path_params["customer_id"]))
        except UnknownCustomer as exc:
            return error(404, str(exc))

    async def erase(self, request: Request) -> Response:
        """Erase a customer's data (POST /admin/customers/{id}/erase); what the app
        posted on the desk is replaced by outbox jobs after the response."""
        try:
            done = await self.privacy.erase(request.path_params["customer_id"], "the admin API")
        except UnknownCustomer as exc:
            return error(404, str(exc))
        summary = {**asdict(done), "erased_at": done.erased_at.isoformat()}
        return JSONResponse({"erasure": summary, "summary": done.describe()})


async def mark_away(store: Store, now: datetime, actor: str, employee_id: str, away: bool) -> None:
    """Set someone's away flag and note who did it, in one transaction (the API and the
    console's Roster page)."""
    async with store.transaction() as connection:
        was = (await stored.roster(connection)).get(employee_id, EmployeeState()).away
        await stored.set_away(connection, employee_id, away, now)
        await audit.record(
            connection, now, actor, "employee.away", employee_id,
            before={"away": was}, after={"away": away},
        )  # fmt: skip


async def roster_rows(
    connection: Connection, config: RoutingConfig, now: datetime
) -> list[dict[str, Any]]:
    """Each employee's load and availability, and how fast they usually reply (the
    figure the bot promises customers; None with too few replies lately)."""
    roster = await stored.roster(connection)
    replies = await usual_replies(connection, [e.id for e in config.employees], now)
    people = []
    for employee in config.employees:
        state = roster.get(employee.id, EmployeeState())
        at_work = employee.hours.is_open(now)
        usual = replies.get(employee.id)
        people.append(
            {
                "id": employee.id,
                "name": employee.name,
                "teams": list(employee.teams),
                "open_conversations": state.open_conversations,
                "max_open": employee.max_open,
                "away": state.away,
                "at_work": at_work,
                "available": availability(employee, state, now) == "available",
                "next_shift": None if at_work else employee.hours.next_opening(now).isoformat(),
                "hours": employee.hours.describe(),
                "usual_reply_seconds": usual,
                "usually_replies_within": within(usual) if usual is not None else None,
            }
        )
    return people


def limit(request: Request) -> int:
    """?limit=N, between 1 and 500 (50 when absent or not a number)."""
    try:
        return min(max(int(request.query_params.get("limit", "")), 1), 500)
    except ValueError:
        return 50


async def body(
    request: Request, model: type[Model], size: int = _MAX_BODY, *, empty: Model | None = None
) -> Model | Response:
    """The request's JSON as `model` (`empty` for no body, when allowed), or a 4xx."""
    try:
        raw = await payloads.read(request, size)
        return empty if empty is not None and not raw.strip() else model.model_validate_json(raw)
    except payloads.Refused as refused:
        return refused.response()
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "bad request", "problems": problems}, status_code=400)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    return JSONResponse(body, status_code=status, headers=headers)
