"""The admin API's config versions and audit log (the console's Rules pages use it):
list and read versions, check a candidate, apply it, restore an earlier one, and
`POST /admin/config/reload`, which now applies FRONTDESK_CONFIG's file as a new version."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import audit, payloads
from bot.access import Endpoint
from bot.admin import body, error, limit
from bot.config_versions import Applied, ConfigVersions, UnknownVersion, as_json
from routing import ConfigError

MAX_CONFIG = 1024 * 1024  # bytes of YAML: the example config.yml is about 8 KB
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_CONFIG)
    comment: str | None = Field(None, max_length=500)
    name: str = Field("candidate", max_length=200)  # how errors name it: "candidate:12: ..."


class Restoring(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(None, max_length=500)


class ConfigApi:
    def __init__(
        self, versions: ConfigVersions, guard: Callable[[Endpoint], Endpoint], path: Path
    ) -> None:
        self.versions = versions
        self.guard = guard
        self.path = path  # FRONTDESK_CONFIG, for reload

    def routes(self) -> list[Route]:
        guard = self.guard
        return [
            Route("/admin/config", guard(self.current)),
            Route("/admin/config/versions", guard(self.listed)),
            Route("/admin/config/versions", guard(self.apply), methods=["POST"]),
            Route("/admin/config/versions/{version_id:int}", guard(self.one)),
            Route("/admin/config/versions/{version_id:int}/restore", guard(self.restore),
                  methods=["POST"]),
            Route("/admin/config/validate", guard(self.validate), methods=["POST"]),
            Route("/admin/config/reload", guard(self.reload), methods=["POST"]),
            Route("/admin/audit", guard(self.audit)),
        ]  # fmt: skip

    async def current(self, request: Request) -> Response:
        """The version in force here, with its YAML."""
        newest = await self.versions.newest()
        if newest is None:
            return error(404, "no config version is stored yet")
        return JSONResponse(as_json(newest, newest.id, with_text=True))

    async def listed(self, request: Request) -> Response:
        found = await self.versions.listed(limit(request))
        current = found[0].id if found else None
        return JSONResponse({"current": current, "versions": [as_json(v, current) for v in found]})

    async def one(self, request: Request) -> Response:
        try:
            version = await self.versions.get(request.path_params["version_id"])
        except UnknownVersion as exc:
            return error(404, str(exc))
        newest = await self.versions.newest()
        return JSONResponse(as_json(version, newest.id if newest else None, with_text=True))

    async def validate(self, request: Request) -> Response:
        """Check a candidate without storing it: 200 either way, `valid` says which."""
        candidate = await self._candidate(request)
        if isinstance(candidate, Response):
            return candidate
        try:
            config = await asyncio.to_thread(self.versions.check, candidate.text, candidate.name)
        except ConfigError as exc:
            return JSONResponse({"valid": False, "problems": problems(exc)})
        return JSONResponse(
            {"valid": True, "employees": len(config.employees), "rules": len(config.rules)}
        )

    async def apply(self, request: Request) -> Response:
        """Store a candidate as the new version in force (400 with its problems)."""
        candidate = await self._candidate(request)
        if isinstance(candidate, Response):
            return candidate
        actor = request.state.admin
        try:
            done = await self.versions.apply(
                candidate.text, candidate.name, actor, candidate.comment
            )
        except ConfigError as exc:
            return JSONResponse(
                {"error": "not applied", "problems": problems(exc)}, status_code=400
            )
        return applied(done)

    async def restore(self, request: Request) -> Response:
        """Put an earlier version in force again, as a new version."""
        restoring = await body(request, Restoring, empty=Restoring())
        if isinstance(restoring, Response):
            return restoring
        try:
            done = await self.versions.restore(
                request.path_params["version_id"], request.state.admin, restoring.comment
            )
        except UnknownVersion as exc:
            return error(404, str(exc))
        except ConfigError as exc:
            return JSONResponse(
                {"error": "not restored", "problems": problems(exc)}, status_code=400
            )
        return applied(done)

    async def reload(self, request: Request) -> Response:
        """Apply FRONTDESK_CONFIG's file as a new version (nothing stored when it is the
        version in force already); a broken file is refused, the version in force kept."""
        try:
            text = await asyncio.to_thread(self.path.read_text, encoding="utf-8")
            done = await self.versions.apply(
                text, str(self.path), request.state.admin, "POST /admin/config/reload"
            )
        except OSError as exc:
            return error(400, f"cannot read {self.path}: {exc.strerror}")
        except ConfigError as exc:
            return JSONResponse(
                {"error": "config not reloaded", "problems": exc.lines()}, status_code=400
            )
        config = self.versions.config
        return JSONResponse(
            {"reloaded": True, "version": done.version.id, "changed": done.changed,
             "employees": len(config.employees), "rules": len(config.rules)}
        )  # fmt: skip

    async def audit(self, request: Request) -> Response:
        """The newest changes first; `?before=ID` for older ones."""
        before = request.query_params.get("before", "")
        if before and not before.isdigit():
            return error(400, f"before is an entry id, not {before!r}")
        async with self.versions.store.reading() as connection:
            found = await audit.entries(connection, limit(request), int(before) if before else None)
        return JSONResponse({"entries": [audit.as_json(entry) for entry in found]})

    async def _candidate(self, request: Request) -> Candidate | Response:
        """JSON {text, comment, name}, or the YAML itself (`?comment=` beside it)."""
        if not request.headers.get("content-type", "").startswith(YAML_TYPES):
            return await body(request, Candidate, MAX_CONFIG * 2)
        try:
            raw = await payloads.read(request, MAX_CONFIG)
        except payloads.Refused as refused:
            return refused.response()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return error(400, "the config is not UTF-8 text")
        return Candidate(text=text, comment=request.query_params.get("comment"))


def applied(done: Applied) -> Response:
    return JSONResponse(
        {"version": as_json(done.version, done.version.id), "changed": done.changed},
        status_code=201 if done.changed else 200,
    )


def problems(exc: ConfigError) -> list[dict[str, Any]]:
    """Each problem with its line (None: the whole file) and key, and as check-config says it."""
    return [
        {"line": line, "key": key, "message": message, "text": text}
        for (line, key, message), text in zip(exc.problems, exc.lines(), strict=True)
    ]
