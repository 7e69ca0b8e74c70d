"""Availability from Slack. With config.yml's `presence: {from_slack: true}`, someone
Slack shows as away (users.getPresence) or inside their do-not-disturb hours (dnd.info)
is passed over by routing; each answer is kept for a minute, a 429 keeps the last one
until Retry-After has passed, and any other failure means "cannot tell", which is not
held against anyone. And `/frontdesk away|back`: an employee sets the away flag."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.employees import Employees
from routing import Employee, RoutingConfig

log = logging.getLogger(__name__)

COMMAND = "/frontdesk"
CACHE_FOR = timedelta(minutes=1)
_WAIT = 3.0  # seconds routing waits for Slack's answers, at most; then: cannot tell
_NEVER = datetime.min.replace(tzinfo=UTC)
USAGE = (
    "`/frontdesk away`: no new conversations for you until `/frontdesk back`. "
    "The ones you have stay yours."
)
STRANGER = "Frontdesk does not know you: ask an admin to add your Slack member id to config.yml."
AWAY = "You are away: new conversations go to your colleagues until `/frontdesk back`."
BACK = "Welcome back: new conversations can come to you again."


def absence(presence: Mapping[str, Any], dnd: Mapping[str, Any], now: datetime) -> str | None:
    """Why users.getPresence's and dnd.info's answers say someone is not there, or None.
    For another user dnd.info gives only the do-not-disturb hours (`snooze_*`, a pause
    they started themselves, is shown to that user alone)."""
    if presence.get("presence") == "away":
        return "away in Slack"
    start, end = dnd.get("next_dnd_start_ts"), dnd.get("next_dnd_end_ts")
    timed = isinstance(start, int | float) and isinstance(end, int | float)
    if dnd.get("dnd_enabled") and timed and start <= now.timestamp() < end:  # type: ignore[operator]
        return "in do-not-disturb hours in Slack"
    if dnd.get("snooze_enabled"):
        return "on do not disturb in Slack"
    return None


class SlackPresence:
    """Who Slack shows as not there (see roles.EmployeeDesk.presence), by Slack user,
    asked at most once a minute each."""

    def __init__(
        self,
        client: AsyncWebClient,
        config: Callable[[], RoutingConfig],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.config = config
        self.clock = clock
        self._known: dict[str, tuple[datetime, str | None]] = {}  # user: (when, why absent)
        self._quiet_until = _NEVER  # after a 429: no questions before then

    async def absent(self, employee_ids: Collection[str]) -> dict[str, str]:
        config = self.config()
        if not config.presence.from_slack:
            return {}
        users = {
            config.employee(e).slack_user_id: e for e in employee_ids if config.has_employee(e)
        }
        now = self.clock()
        stale = [u for u in users if now - self._known.get(u, (_NEVER, None))[0] >= CACHE_FOR]
        if stale and now >= self._quiet_until:
            try:
                async with asyncio.timeout(_WAIT):
                    await asyncio.gather(*(self._ask(user) for user in stale))
            except TimeoutError:
                log.warning("slack presence too slow", extra={"users": len(stale)})
        return {users[u]: why for u in users if (why := self._known.get(u, (now, None))[1])}

    async def _ask(self, user: str) -> None:
        try:
            presence = await self.client.users_getPresence(user=user)
            dnd = await self.client.dnd_info(user=user)
        except SlackApiError as exc:
            if exc.response.status_code == 429:  # keep what was known; wait as told
                wait = float(exc.response.headers.get("Retry-After", 1))
                self._quiet_until = max(self._quiet_until, self.clock() + timedelta(seconds=wait))
                return
            self._known[user] = (self.clock(), None)
            log.warning("slack presence refused", extra={"error": exc.response.get("error")})
            return
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._known[user] = (self.clock(), None)
            log.warning("slack presence unreachable", extra={"error": type(exc).__name__})
            return
        now = self.clock()
        self._known[user] = (now, absence(presence.data, dnd.data, now))  # type: ignore[arg-type]


class AwayCommand:
    """`/frontdesk away` and `/frontdesk back`, answered to the employee alone: the away
    flag the admin API sets, set by the employee."""

    def __init__(self, employee: Callable[[str], Employee | None], employees: Employees) -> None:
        self.employee = employee
        self.employees = employees

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        asked = str(command.get("text") or "").strip().lower()
        employee = self.employee(str(command.get("user_id") or ""))
        if employee is None:
            await ack(STRANGER)
        elif asked not in ("away", "back"):
            await ack(USAGE)
        else:
            await self.employees.set_away(employee.id, asked == "away")
            await ack(AWAY if asked == "away" else BACK)
