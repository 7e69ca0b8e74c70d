"""The admin API described for clients (`GET /admin/openapi.json`, OpenAPI 3.1), from one
table of its routes; a test checks every admin route the app mounts is in it. The
console's HTML pages and the sign-in door are not API, and are left out."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_OBJECT: dict[str, Any] = {"type": "object"}
_CANDIDATE = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "description": "config.yml, at most 1 MB"},
                   "comment": {"type": "string"}, "name": {"type": "string"}},
}  # fmt: skip
_REPLAY = {
    "type": "object",
    "required": ["config_yaml"],
    "properties": {"config_yaml": {"type": "string"},
                   "since": {"type": "string", "description": "a date or ISO time"},
                   "until": {"type": "string"}},
}  # fmt: skip
_ROUTE = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string"}, "channel": {"enum": ["web", "telegram"]},
                   "customer_id": {"type": "integer"}, "language": {"type": "string"},
                   "tags": {"type": "array", "items": {"type": "string"}}},
}  # fmt: skip
_AWAY = {"type": "object", "required": ["away"], "properties": {"away": {"type": "boolean"}}}
_LIMIT = ("limit", "1 to 500, 50 unless given")

# (method, path, tag, summary, JSON body schema, query parameters)
Described = tuple[str, str, str, str, dict[str, Any] | None, tuple[tuple[str, str], ...]]
ROUTES: tuple[Described, ...] = (
    ("get", "/admin/config", "config", "The config version in force, with its YAML", None, ()),
    ("get", "/admin/config/versions", "config", "Versions, newest first", None, (_LIMIT,)),
    ("post", "/admin/config/versions", "config",
     "Apply a candidate as a new version (400 with problems: line, key, message)", _CANDIDATE, ()),
    ("get", "/admin/config/versions/{version_id}", "config", "One version, with its YAML",
     None, ()),
    ("post", "/admin/config/versions/{version_id}/restore", "config",
     "Put an earlier version in force again, as a new version", {"type": "object"}, ()),
    ("post", "/admin/config/validate", "config",
     "Check a candidate without storing it: {valid, problems}", _CANDIDATE, ()),
    ("post", "/admin/config/reload", "config",
     "Apply FRONTDESK_CONFIG's file as a new version", None, ()),
    ("get", "/admin/audit", "audit", "The audit log, newest first", None,
     (_LIMIT, ("before", "an entry id: older entries"))),
    ("post", "/admin/replay", "figures",
     "What a candidate config would change over a period (the last 30 days unless given)",
     _REPLAY, ()),
    ("get", "/admin/report", "figures", "The listening report, as JSON or one part as CSV", None,
     (("from", "a date or ISO time"), ("to", "a date (that whole day) or ISO time"),
      ("by", "day or week"), ("format", "json or csv"), ("part", "one part; needed for CSV"))),
    ("get", "/admin/roster", "roster",
     "Each employee: load against max_open, at work, away, next shift", None, ()),
    ("put", "/admin/employees/{employee_id}/away", "roster", "Set or clear the away flag",
     _AWAY, ()),
    ("get", "/admin/conversations", "conversations", "The newest conversations", None,
     (("status", "triage, waiting, open or closed"), _LIMIT)),
    ("post", "/admin/route", "conversations",
     "Who would get this message, and why (nothing stored)", _ROUTE, ()),
    ("get", "/admin/ratings", "conversations", "Customers' ratings per employee", None,
     (("days", "1 to 3650, 30 unless given"),)),
    ("get", "/admin/customers/{customer_id}/export", "customers",
     "Everything stored about a customer", None, ()),
    ("post", "/admin/customers/{customer_id}/erase", "customers", "Erase a customer's data",
     None, ()),
    ("get", "/admin/outbox", "operations", "Outbox jobs (failed unless ?status=)", None,
     (("status", "pending, done or failed"),)),
    ("get", "/admin/rejected", "operations", "Updates a channel sent that could not be read",
     None, (_LIMIT,)),
    ("get", "/admin/openapi.json", "meta", "This description", None, ()),
)  # fmt: skip


def describe(routes: tuple[Described, ...] = ROUTES) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, tag, summary, body, query in routes:
        operation: dict[str, Any] = {
            "tags": [tag],
            "summary": summary,
            "responses": {"200": {"description": "done",
                                  "content": {"application/json": {"schema": _OBJECT}}},
                          "400": {"description": "what is wrong, in words"},
                          "401": {"description": "sign in, or give the bearer token"},
                          "403": {"description": "a browser's request without our CSRF token"}},
        }  # fmt: skip
        named = re.findall(r"{(\w+)}", path)
        parameters = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in named
        ]
        parameters += [
            {"name": n, "in": "query", "description": d, "schema": {"type": "string"}}
            for n, d in query
        ]
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Frontdesk admin API", "version": "1",
                 "description": "Scripts send `Authorization: Bearer $FRONTDESK_ADMIN_TOKEN`; "
                 "the console's browser sends its session cookie and, on a change, "
                 "the X-CSRF-Token header."},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "frontdesk_session"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }  # fmt: skip


def routes() -> list[Route]:
    described = describe()

    async def openapi(request: Request) -> Response:
        return JSONResponse(described)

    return [Route("/admin/openapi.json", openapi)]
