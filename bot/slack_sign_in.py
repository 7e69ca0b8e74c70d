"""`/frontdesk` alone (or `/frontdesk sign in`): an admin gets a one-time link to the
console in a direct message from the app; anyone else is told politely who can. The
other words (`away`, `back`) go on to the away command."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sign_in import Refused, SignIn, link_url
from bot.slack_presence import STRANGER
from routing import Employee

log = logging.getLogger(__name__)

WORDS = frozenset({"", "sign in", "signin", "login", "log in", "console", "link"})
SENT = "I have sent you a sign-in link in a direct message. It works once, within 10 minutes."
NOT_SENT = "I could not send you a direct message just now; please try again in a minute."
Command = Callable[[AsyncAck, dict[str, Any]], Awaitable[None]]


class SignInCommand:
    def __init__(
        self,
        client: AsyncWebClient,
        employee: Callable[[str], Employee | None],
        sign_in: SignIn,
        public_url: str | None,
        otherwise: Command,
    ) -> None:
        self.client = client
        self.employee = employee
        self.sign_in = sign_in
        self.public_url = public_url
        self.otherwise = otherwise

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        if str(command.get("text") or "").strip().lower() not in WORDS:
            await self.otherwise(ack, command)
            return
        user = str(command.get("user_id") or "")
        employee = self.employee(user)
        if employee is None:
            await ack(STRANGER)
            return
        try:
            token = await self.sign_in.link(employee.id)
        except Refused:
            await ack(
                f"Sorry {employee.name}, the console is for admins only. An admin can add "
                "you under `admins:` in config.yml."
            )
            return
        text = (
            f"Your sign-in link to the Frontdesk console: {link_url(self.public_url, token)}\n"
            "It works once, within 10 minutes. If you did not ask for it, ignore it."
        )
        try:
            # To the user's id: Slack posts it in the app's DM with them.
            await self.client.chat_postMessage(
                channel=user, text=text, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            log.warning("sign-in link not sent", extra={"error": exc.response.get("error")})
            await ack(NOT_SENT)
            return
        await ack(SENT)
