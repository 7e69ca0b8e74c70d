"""Admins sign in to the console without passwords: a one-time link (sent in Slack, or
printed by `frontdesk admin link`) that expires after ten minutes and works once, then
a session kept on the server and ended after twelve idle hours. Only hashes of the
tokens are stored; a session's CSRF token is derived from its own token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update

from bot import audit
from bot.store import Store
from bot.tables import admin_sessions, sign_in_links, utcnow
from routing import RoutingConfig

LINK_LIFETIME = timedelta(minutes=10)
IDLE = timedelta(hours=12)
_SEEN_EVERY = timedelta(minutes=1)  # how stale seen_at may get before it is written
COOKIE = "frontdesk_session"
PATH = "/admin/sign-in"
LOCAL = "http://127.0.0.1:8000"

_LINK = select(sign_in_links).where(sign_in_links.c.token_hash == bindparam("hash"))
# The one statement that spends a link: of instances racing, one gets the row.
_SPEND = (
    update(sign_in_links)
    .where(
        sign_in_links.c.token_hash == bindparam("hash"),
        sign_in_links.c.used_at.is_(None),
        sign_in_links.c.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(sign_in_links.c.employee_id)
)
_SESSION = select(admin_sessions).where(admin_sessions.c.token_hash == bindparam("hash"))
_SEEN = (
    update(admin_sessions)
    .where(admin_sessions.c.token_hash == bindparam("hash"))
    .values(seen_at=bindparam("now"))
)
_END = delete(admin_sessions).where(admin_sessions.c.token_hash == bindparam("hash"))


class Refused(Exception):
    """A sign-in that is not allowed; the message is for the person trying."""


@dataclass(frozen=True)
class Session:
    employee_id: str
    token: str  # the cookie's value

    @property
    def csrf(self) -> str:
        """The token a state-changing request must carry (form field `csrf` or the
        X-CSRF-Token header): another site can neither read it nor derive it."""
        return csrf_token(self.token)


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"frontdesk csrf", hashlib.sha256).hexdigest()


def hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(public_url: str | None, token: str) -> str:
    """The link to send: on FRONTDESK_PUBLIC_URL, else where `make run` serves."""
    return f"{(public_url or LOCAL).rstrip('/')}{PATH}?token={token}"


class SignIn:
    def __init__(
        self,
        store: Store,
        config: Callable[[], RoutingConfig],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def check_admin(self, employee_id: str) -> None:
        """Refused unless the config in force names `employee_id` under `admins:`."""
        config = self.config()
        if employee_id not in config.admins:
            who = config.employee(employee_id).name if config.has_employee(employee_id) else None
            raise Refused(
                f"{who or repr(employee_id)} is not an admin: the config's admins are "
                f"{', '.join(config.admins) or 'nobody yet'} (config.yml `admins:`)."
            )

    async def link(self, employee_id: str) -> str:
        """A new one-time token for `employee_id` (refused for someone not an admin)."""
        self.check_admin(employee_id)
        token, now = secrets.token_urlsafe(32), self.clock()
        async with self.store.transaction() as connection:
            await connection.execute(
                insert(sign_in_links),
                {"token_hash": hashed(token), "employee_id": employee_id, "created_at": now,
                 "expires_at": now + LINK_LIFETIME, "used_at": None},
            )  # fmt: skip
        return token

    async def peek(self, token: str) -> str:
        """Whose link this is, if it would sign them in now; Refused saying why not."""
        async with self.store.reading() as connection:
            row = (await connection.execute(_LINK, {"hash": hashed(token)})).first()
        if row is None:
            raise Refused("This sign-in link is not one we made. Ask for a new one.")
        if row.used_at is not None:
            raise Refused("This sign-in link was used already: each works once. Ask for a new one.")
        if row.expires_at <= self.clock():
            raise Refused("This sign-in link has expired (after 10 minutes). Ask for a new one.")
        self.check_admin(row.employee_id)
        return str(row.employee_id)

    async def redeem(self, token: str) -> Session:
        """Spend the link (once, across instances) and start a session."""
        now = self.clock()
        async with self.store.transaction() as connection:
            spent = (await connection.execute(_SPEND, {"hash": hashed(token), "now": now})).first()
        if spent is None:
            await self.peek(token)  # says why
            raise Refused("This sign-in link cannot be used. Ask for a new one.")
        employee_id = str(spent.employee_id)
        self.check_admin(employee_id)  # admins may have changed since the link was made
        session = Session(employee_id, secrets.token_urlsafe(32))
        async with self.store.transaction() as connection:
            await connection.execute(
                insert(admin_sessions),
                {"token_hash": hashed(session.token), "employee_id": employee_id,
                 "created_at": now, "seen_at": now},
            )  # fmt: skip
            await audit.record(connection, now, employee_id, "sign_in", employee_id)
        return session

    async def session(self, token: str) -> Session | None:
        """The session a cookie holds, if it is live and its admin still one."""
        now = self.clock()
        async with self.store.reading() as connection:
            row = (await connection.execute(_SESSION, {"hash": hashed(token)})).first()
        if row is None:
            return None
        if row.seen_at + IDLE <= now or row.employee_id not in self.config().admins:
            async with self.store.transaction() as connection:
                await connection.execute(_END, {"hash": hashed(token)})
            return None
        if now - row.seen_at >= _SEEN_EVERY:
            async with self.store.transaction() as connection:
                await connection.execute(_SEEN, {"hash": hashed(token), "now": now})
        return Session(str(row.employee_id), token)

    async def sign_out(self, session: Session) -> None:
        async with self.store.transaction() as connection:
            await connection.execute(_END, {"hash": hashed(session.token)})
            await audit.record(
                connection, self.clock(), session.employee_id, "sign_out", session.employee_id
            )
