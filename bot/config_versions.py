"""config.yml kept in the database, one row per version, the newest in force. Each
instance holds the newest version it has checked; news on commit ("config:N", heard
through PostgreSQL by the other instances) and a poll of the newest id every few seconds
bring a version applied anywhere into force everywhere, without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, bindparam, func, select, text

from bot import audit
from bot.news import News
from bot.settings import check_routing_config
from bot.store import Connection, Store
from bot.store.rows import add, model, models
from bot.tables import ConfigVersion, config_versions, utcnow
from routing import ConfigError, RoutingConfig

log = logging.getLogger(__name__)

FILE = "config.yml"  # the author of a version that came from FRONTDESK_CONFIG at start
POLL = 2.0  # seconds between looks at the newest id, in case news was lost
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('frontdesk config'))")
_NEWEST = select(config_versions).order_by(config_versions.c.id.desc()).limit(1)
_NEWEST_ID = select(func.max(config_versions.c.id))
_ONE = select(config_versions).where(config_versions.c.id == bindparam("id"))
_FROM_FILE = (
    select(config_versions.c.text)
    .where(config_versions.c.author == FILE)
    .order_by(config_versions.c.id.desc())
    .limit(1)
)

Check = Callable[[str, str], RoutingConfig]  # (text, source) -> config, or ConfigError


class UnknownVersion(Exception):
    """A version id that was never stored."""


@dataclass(frozen=True)
class Applied:
    version: ConfigVersion
    changed: bool  # False: the text was the current version's already; nothing stored


class ConfigVersions:
    """The config in force on this instance (`config`), and the versions stored."""

    def __init__(
        self,
        store: Store,
        news: News,
        config: RoutingConfig,
        *,
        check: Check = check_routing_config,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.news = news
        self.config = config  # until a stored version is read: the file's
        self.version: int | None = None
        self.check = check
        self.clock = clock
        self.poll = POLL
        # Run after a new version comes into force here (a retention period may be new).
        self.on_change: list[Callable[[RoutingConfig], Awaitable[None]]] = []
        self._refused: int | None = None  # a stored version that failed its check here
        self._heard = asyncio.Event()
        news.subscribe("config", lambda _news: self._heard.set())

    def current(self) -> RoutingConfig:
        """The config in force here (what the core asks each time it routes)."""
        return self.config

    async def adopt_file(self, path: Path) -> Applied | None:
        """At start: the file seeds version 1 of an empty database, and is applied again
        when it changed since it was last applied at a start (as a restart applied it
        before versions). An unchanged file leaves the versions applied since (console,
        API, command line) in force; so does one in a database versioned without it."""
        body = await asyncio.to_thread(path.read_text, encoding="utf-8")
        config = self.check(body, str(path))
        async with self.store.transaction() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(_LOCK)  # instances starting together apply it once
            current = (await connection.execute(_NEWEST)).first()
            last = (await connection.execute(_FROM_FILE)).scalar()
            if current is not None and (last is None or body in (last, current.text)):
                return None
            version = await self._store(
                connection, current, body, FILE, "config.apply", f"from {path} at start"
            )
        await self._swap(version.id, config)
        return Applied(version, changed=True)

    async def apply(
        self, body: str, source: str, actor: str, comment: str | None = None
    ) -> Applied:
        """Check `body` (ConfigError names `source`, line and key) and put it in force
        as a new version; nothing is stored when it is broken or already current."""
        config = self.check(body, source)
        return await self._put(body, config, actor, "config.apply", comment)

    async def restore(self, version_id: int, actor: str, comment: str | None = None) -> Applied:
        """Put an earlier version's text in force again, as a new version."""
        old = await self.get(version_id)
        config = self.check(old.text, _source(version_id))
        return await self._put(
            old.text,
            config,
            actor,
            "config.restore",
            comment or f"restored version {old.id}",
            restored_from=old.id,
        )

    async def get(self, version_id: int) -> ConfigVersion:
        async with self.store.reading() as connection:
            row = (await connection.execute(_ONE, {"id": version_id})).first()
        if row is None:
            raise UnknownVersion(f"no config version {version_id}")
        return model(ConfigVersion, row)

    async def newest(self) -> ConfigVersion | None:
        async with self.store.reading() as connection:
            row = (await connection.execute(_NEWEST)).first()
        return None if row is None else model(ConfigVersion, row)

    async def listed(self, limit: int = 100) -> list[ConfigVersion]:
        """The newest versions first, without their text."""
        query = select(config_versions).order_by(config_versions.c.id.desc()).limit(limit)
        async with self.store.reading() as connection:
            return models(ConfigVersion, (await connection.execute(query)).all())

    async def load(self) -> bool:
        """Put the newest stored version in force here if it is not already; a version
        that fails its check on this instance (another NLU model, say) is logged once
        and the one in force kept. True when the config changed."""
        async with self.store.reading() as connection:
            newest = (await connection.execute(_NEWEST_ID)).scalar()
        if newest is None or newest == self.version or newest == self._refused:
            return False
        version = await self.get(newest)
        try:
            config = self.check(version.text, _source(newest))
        except ConfigError as exc:
            self._refused = newest
            log.error(
                "a stored config version is broken here; the one in force is kept",
                extra={"version": newest, "problems": exc.lines()},
            )
            return False
        return await self._swap(newest, config)

    async def watch(self) -> None:
        """Follow the versions applied elsewhere, until cancelled: at news, or each poll."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):  # not wait_for: see Connection._push
                    await self._heard.wait()
            self._heard.clear()
            try:
                await self.load()
            except Exception:
                log.exception("could not read the config versions; will look again")

    async def _put(
        self,
        body: str,
        config: RoutingConfig,
        actor: str,
        action: str,
        comment: str | None,
        restored_from: int | None = None,
    ) -> Applied:
        async with self.store.transaction() as connection:
            current = (await connection.execute(_NEWEST)).first()
            if current is not None and current.text == body:
                return Applied(model(ConfigVersion, current), changed=False)
            version = await self._store(
                connection, current, body, actor, action, comment, restored_from
            )
        await self._swap(version.id, config)
        return Applied(version, changed=True)

    async def _store(
        self,
        connection: Connection,
        current: Row[Any] | None,
        body: str,
        actor: str,
        action: str,
        comment: str | None,
        restored_from: int | None = None,
    ) -> ConfigVersion:
        """A new version with its audit entry; the others hear of it at the commit."""
        now = self.clock()
        version = await add(
            connection,
            ConfigVersion(
                text=body,
                author=actor,
                comment=comment,
                restored_from=restored_from,
                created_at=now,
            ),
        )
        before: dict[str, Any] | None = None if current is None else {"version": current.id}
        after: dict[str, Any] = {
            "version": version.id,
            "diff": audit.diff("" if current is None else current.text, body),
        }
        if restored_from is not None:
            after["restored_from"] = restored_from
        await audit.record(
            connection, now, actor, action, str(version.id), before=before, after=after
        )
        await self.news.publish(connection, f"config:{version.id}")
        return version

    async def _swap(self, version_id: int | None, config: RoutingConfig) -> bool:
        """The one place the config in force changes; an older version never replaces
        a newer one (a slow poll racing an apply)."""
        if version_id is not None and self.version is not None and version_id < self.version:
            return False
        self.config, self.version = config, version_id
        log.info("config version in force", extra={"version": version_id})
        for hook in self.on_change:
            await hook(config)
        return True


def _source(version_id: int) -> str:
    return f"config version {version_id}"


def as_json(version: ConfigVersion, current: int | None, *, with_text: bool = False) -> Any:
    found: dict[str, Any] = {
        "id": version.id,
        "author": version.author,
        "comment": version.comment,
        "restored_from": version.restored_from,
        "created_at": version.created_at.isoformat(),
        "current": version.id == current,
    }
    if with_text:
        found["text"] = version.text
    return found
