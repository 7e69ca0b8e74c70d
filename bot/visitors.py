"""Who is behind a widget socket, and how much they may do. A visitor holds a token (a
random secret the widget keeps; we store only its hash). The company's site can vouch
for a visitor: its id for them, with an HMAC-SHA256 of that id under
FRONTDESK_WIDGET_SECRET computed by the site's backend; a vouched-for visitor is the
same customer on every device. Limits (config.yml `limits:`) cap the sockets and new
visitors of one network address, the sockets of one visitor, and the messages of one
visitor and one address."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bot.customers import Customers
from bot.pacing import Limit, Pacer
from bot.settings import Settings
from bot.store import customers as people
from routing.limits import Limits

NAME = "web"
_MAX_FIELD = 320  # characters in an identity's id, name or email


class Refusal(Exception):
    """Why a visitor is not let in: a code for the widget and words for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Identity:
    """A visitor as the company's site knows them, checked against its hash."""

    id: str
    name: str | None
    email: str | None


class Visitors:
    def __init__(self, settings: Settings, customers: Customers) -> None:
        self.secret = settings.widget_secret
        self.customers = customers
        self.store = customers.store
        self.metrics = customers.metrics
        self.open: Counter[str] = Counter()  # sockets by network address
        self.held: Counter[str] = Counter()  # sockets by visitor token
        self.benched: dict[str, float] = {}  # token -> when its visitor may come back
        self.clock = time.monotonic
        self.visitor = Limit(self.limits, _per_visitor)
        self.network = Limit(self.limits, _per_address)
        self.new = Limit(self.limits, _new_per_address)

    def limits(self) -> Limits:
        return self.customers.conversations.config().limits

    def enter(self, address: str) -> None:
        """A socket opens from `address`; Refusal if it already has its share."""
        if self.open[address] >= self.limits().sockets_per_address:
            self._limited("sockets")
            raise Refusal("too_many_sockets", "Too many chat windows are open from here.")
        self.open[address] += 1

    def leave(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]

    async def admit(self, token: object, vouched: object, address: str) -> tuple[int, str]:
        """`identify`, with the socket counted against its visitor's token from before
        any database work (so a storm of sockets with one token waits for no query):
        Refusal if that visitor was closed for flooding and may not send yet, or has its
        share of sockets open. The caller releases the token it gets back."""
        held = self._hold(token) if isinstance(token, str) else None
        try:
            customer_id, issued = await self.identify(token, vouched, address)
        except BaseException:
            if held is not None:
                self.release(held)
            raise
        if issued != held:  # a new token: none of its sockets are open yet
            if held is not None:
                self.release(held)
            self.held[issued] += 1
        return customer_id, issued

    def _hold(self, token: str) -> str:
        if (until := self.benched.get(token)) is not None:
            if (wait := until - self.clock()) > 0:
                self._limited("reconnects")
                raise Refusal("rate_limited", f"Too many messages: wait {math.ceil(wait)} s.")
            del self.benched[token]
        if self.held[token] >= self.limits().sockets_per_visitor:
            self._limited("visitor_sockets")
            raise Refusal("too_many_sockets", "Too many chat windows are open for this visitor.")
        self.held[token] += 1
        return token

    def release(self, token: str) -> None:
        self.held[token] -= 1
        if self.held[token] <= 0:
            del self.held[token]

    def bench(self, token: str, seconds: float) -> None:
        """A visitor closed for flooding: their sockets are refused for `seconds`, at
        the door, so that reconnecting costs no database work."""
        now = self.clock()
        if len(self.benched) > 10_000:
            self.benched = {k: until for k, until in self.benched.items() if until > now}
        self.benched[token] = now + seconds

    def admit_message(self, customer_id: int, address: str) -> float:
        """0.0 if the visitor may send a message now, else how many seconds until they
        may (nothing is counted against them for a refused message)."""
        if (wait := self.visitor.admit(str(customer_id))) > 0:
            self._limited("messages")
            return wait
        if (wait := self.network.admit(address)) > 0:
            self._limited("address_messages")
            return wait
        return 0.0

    async def identify(self, token: object, vouched: object, address: str) -> tuple[int, str]:
        """The customer behind a hello frame's token and identity, and the token the
        widget keeps from now on (a new one for a new visitor)."""
        identity = self._checked(vouched)
        if identity is None and self.customers.conversations.config().widget.require_identity:
            raise Refusal("identity_required", "This chat is for signed-in customers.")
        known = await self._owner(token)
        if identity is None:
            if known is not None and not known[1]:
                return known[0], str(token)
            # A token of a vouched-for customer needs the identity too: whoever uses
            # the browser after them signed out starts afresh.
            if self.new.admit(address) > 0:
                self._limited("new_visitors")
                raise Refusal("too_many_visitors", "Too many new chats from here: try later.")
            fresh = secrets.token_urlsafe(24)  # 192 bits
            return await self.customers.identify(NAME, digest(fresh)), fresh
        joining = known[0] if known is not None and not known[1] else None
        async with self.store.transaction() as connection:
            customer_id = await people.vouched_for(
                connection, NAME, f"id:{identity.id}",
                name=identity.name, email=identity.email, joining=joining,
            )  # fmt: skip
            if known is not None and known[0] == customer_id:
                return customer_id, str(token)
            fresh = secrets.token_urlsafe(24)
            await people.add_contact(connection, customer_id, NAME, digest(fresh))
        return customer_id, fresh

    def _checked(self, vouched: object) -> Identity | None:
        if vouched is None:
            return None
        if self.secret is None:
            raise Refusal(
                "identity_unverifiable",
                "This site sends identities, but Frontdesk has no FRONTDESK_WIDGET_SECRET.",
            )
        fields = _fields(vouched)
        expected = hmac.new(self.secret.encode(), fields["id"].encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), fields["hash"].lower()):
            self.metrics.rejected.labels("widget", "identity").inc()
            raise Refusal("bad_identity", "The site's signature for this visitor is wrong.")
        return Identity(fields["id"], fields.get("name"), fields.get("email"))

    async def _owner(self, token: object) -> tuple[int, bool] | None:
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        async with self.store.reading() as connection:
            return await people.owner(connection, NAME, digest(token))

    def _limited(self, limit: str) -> None:
        self.metrics.limited.labels(NAME, limit).inc()


def _per_visitor(limits: Limits) -> Pacer:
    return Pacer(limits.messages_per_minute / 60, limits.message_burst)


def _per_address(limits: Limits) -> Pacer:
    """All of an address's visitors together (several people behind one router)."""
    per_minute = limits.address_messages_per_minute
    return Pacer(per_minute / 60, max(1, per_minute // 2))


def _new_per_address(limits: Limits) -> Pacer:
    return Pacer(limits.new_visitors_per_minute / 60, limits.new_visitors_per_minute)


def _fields(vouched: object) -> dict[str, Any]:
    """An identity's fields, each a string of sensible length; Refusal otherwise."""
    if not isinstance(vouched, dict):
        raise Refusal("bad_identity", "An identity is an object: {id, name, email, hash}.")
    fields = {k: vouched.get(k) for k in ("id", "name", "email", "hash") if vouched.get(k)}
    if not isinstance(fields.get("id"), str) or not isinstance(fields.get("hash"), str):
        raise Refusal("bad_identity", "An identity needs an id and the site's hash of it.")
    if not all(isinstance(v, str) and len(v) <= _MAX_FIELD for v in fields.values()):
        raise Refusal("bad_identity", f"Identity fields are text of at most {_MAX_FIELD}.")
    return fields


def digest(token: str) -> str:
    """Tokens are stored only as hashes: a database leak does not let anyone in."""
    return hashlib.sha256(token.encode()).hexdigest()
