"""Slack as the employees' desk: cards and thread posts out (SlackDesk, paced per
channel, failures turned into outbox retries that honour Retry-After), and thread
replies and button presses in with slack-bolt (SlackEvents)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot import payloads
from bot import slack_envelope as envelope
from bot.cards import (
    CLOSE,
    TAKE_OVER,
    TRANSFER,
    card,
    conversation_id,
    escape,
    thread_text,
    to_plain,
    to_reply,
    to_transfer,
)
from bot.employees import Employees
from bot.outbox import GiveUp, RetryLater
from bot.pacing import Pacer
from bot.roles import Attempt, Card, FileContent, Line, Reaction, Spot
from bot.settings import Settings
from bot.sign_in import SignIn
from bot.slack_erasure import MARKER, SlackErasure
from bot.slack_files import SlackFiles, error_of
from bot.slack_presence import COMMAND, AwayCommand, SlackPresence
from bot.slack_sign_in import SignInCommand
from bot.slack_threads import Threads
from routing import Employee, RoutingConfig, Team

log = logging.getLogger(__name__)

T = TypeVar("T")

# Errors that retrying cannot fix.
_PERMANENT = {
    "account_inactive", "channel_not_found", "invalid_auth", "is_archived", "msg_too_long",
    "no_text", "not_authed", "not_in_channel", "token_revoked", "user_not_found",
    "cannot_dm_bot", "invalid_blocks", "missing_scope",
}  # fmt: skip
_REACTIONS = {"delivered": "white_check_mark"}  # roles.Reaction -> a Slack emoji name
_POSTS_PER_SECOND, _BURST = 1.0, 5  # Slack allows about one post a second per channel
_MAX_BODY = 1_000_000  # Slack's events are a few kilobytes
# slack_sdk reads its logger's own level, not the effective one, before it formats a debug
# line of each request and response, blocks and all; a logger left at NOTSET (as loggers
# are made) paid for that line on every call, although logs.py keeps slack_sdk at WARNING
# (3-4% of the app's CPU in a profile of handoffs). This one holds WARNING itself.
_CLIENT_LOG = logging.getLogger("slack_sdk.web.frontdesk")
_CLIENT_LOG.setLevel(logging.WARNING)


class SlackDesk:
    """Slack as the employees' desk (see roles.EmployeeDesk): cards, thread posts and
    card updates out, through one Web API client with one HTTP session."""

    def __init__(self, settings: Settings, config: Callable[[], RoutingConfig]) -> None:
        self.settings = settings
        self.config = config
        self.pacer = Pacer(_POSTS_PER_SECOND, _BURST)
        # Retries belong to the outbox, which is durable and honours Retry-After.
        self.client = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=15,
            retry_handlers=[],
            logger=_CLIENT_LOG,
        )
        self.files = SlackFiles(self.client, self.pacer, self._call)
        self.erasure = SlackErasure(self.client, self.pacer, self._call, self.files)
        self.fetch_file = self.files.fetch  # roles.FileSource: employees' files
        self.presence = SlackPresence(self.client, config).absent  # roles.EmployeeDesk
        self._names: dict[str, str] = {}
        self._dms: dict[str, str] = {}
        self._staff: tuple[RoutingConfig, dict[str, Employee]] | None = None

    async def start(self) -> None:
        # One HTTP session for every call: against slack.com each new one costs a handshake.
        self.client.session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self.client.session is not None:
            await self.client.session.close()

    def employee(self, slack_user: str) -> Employee | None:
        """The employee a Slack user is (the one place Slack ids are resolved)."""
        return self.staff().get(slack_user)

    def staff(self) -> dict[str, Employee]:
        """The employees by Slack user id, made again only when the config is."""
        config = self.config()
        if self._staff is None or self._staff[0] is not config:
            self._staff = (config, {e.slack_user_id: e for e in config.employees})
        return self._staff[1]

    async def open_card(self, view: Card, attempt: Attempt) -> Spot:
        team = view.team
        channel = team.slack_channel if team and team.slack_channel else None
        text, blocks = card(view, self.config(), in_channel=channel is not None)
        user = view.employee.slack_user_id
        if channel:
            spot = await self._post(attempt, channel, None, text=f"<@{user}> {text}", blocks=blocks)
            # The channel as configured: update_card knows a team's channel by it.
            return Spot(channel, spot.thread)
        if attempt.number == 1 and user not in self._dms:
            # Slack delivers a post to a user's id in the app's DM with them, and names
            # that DM in its answer: no conversations.open (rate-limited to about 50 a
            # minute), which a desk of hundreds would otherwise call for each employee
            # after every restart.
            spot = await self._post(attempt, user, None, text=text, blocks=blocks)
            self._dms[user] = spot.place
            return spot
        # The DM as remembered, or opened: a retry looks there for a post that was lost.
        dm = await self._direct_message(user)
        return await self._post(attempt, dm, None, text=text, blocks=blocks)

    async def _direct_message(self, slack_user: str) -> str:
        """The app's DM with a user: opened once, then remembered (it never changes)."""
        if slack_user not in self._dms:
            opened = await self._call(self.client.conversations_open(users=slack_user))
            self._dms[slack_user] = str(opened["channel"]["id"])
        return self._dms[slack_user]

    async def post(self, spot: Spot, line: Line, attempt: Attempt) -> None:
        text = thread_text(line.author, line.text, line.details)
        await self._post(attempt, spot.place, spot.thread, text=text)

    async def upload(self, spot: Spot, line: Line, file: FileContent, attempt: Attempt) -> None:
        text = thread_text(line.author, line.text, {})  # the file itself, not its link
        await self.files.upload(spot, text, file, attempt)

    async def note(self, spot: Spot, text: str, attempt: Attempt) -> None:
        await self._post(attempt, spot.place, spot.thread, text=f":warning: {escape(text)}")

    async def alert(self, team: Team, text: str, attempt: Attempt) -> bool:
        """A post in the team's channel; a team without one works in direct messages."""
        if not team.slack_channel:
            return False
        text = f":rotating_light: {escape(text)}"
        await self._post(attempt, team.slack_channel, None, text=text)
        return True

    async def update_card(self, spot: Spot, view: Card, note: str | None, attempt: Attempt) -> None:
        in_channel = spot.place in {t.slack_channel for t in self.config().teams}
        text, blocks = card(view, self.config(), in_channel=in_channel)
        await self._call(
            self.client.chat_update(channel=spot.place, ts=spot.thread, text=text, blocks=blocks)
        )
        if note:
            await self._post(attempt, spot.place, spot.thread, text=escape(note))

    async def react(self, reference: str, reaction: Reaction, attempt: Attempt) -> None:
        """reactions.add on an employee's message, `{channel}:{ts}` as SlackEvents
        stored it, paced per channel like posts; done if Slack says it is there already
        (a retry after a lost response), given up if the message was deleted."""
        channel, _, ts = reference.partition(":")
        await self.pacer.wait(channel)
        try:
            await self._call(
                self.client.reactions_add(channel=channel, timestamp=ts, name=_REACTIONS[reaction])
            )
        except RetryLater as exc:
            error = error_of(exc)
            if error == "message_not_found":
                raise GiveUp("the employee's message was deleted") from exc
            if error != "already_reacted":
                raise

    async def erase_thread(self, spot: Spot) -> int:
        return await self.erasure.thread(spot)

    async def name_of(self, desk_user: str) -> str:
        """A Slack user's name: from config.yml, else from users.info (cached)."""
        if (employee := self.employee(desk_user)) is not None:
            return employee.name
        if desk_user not in self._names:
            try:
                info = await self._call(self.client.users_info(user=desk_user))
                profile = info["user"].get("profile") or {}
                user = info["user"]
                name = profile.get("real_name") or user.get("real_name") or user["name"]
            except (RetryLater, GiveUp, KeyError):
                return f"Slack user {desk_user}"
            self._names[desk_user] = str(name)
        return self._names[desk_user]

    async def _post(
        self, attempt: Attempt, channel: str, thread_ts: str | None, **kwargs: Any
    ) -> Spot:
        """chat.postMessage, paced per channel and marked with the job's id, so that a
        post whose response was lost is found, not repeated, on the next attempt. The
        post's place is the channel Slack names (a DM's id for a post to a user's)."""
        marker = {"event_type": MARKER, "event_payload": {"job": attempt.job}}
        if attempt.number > 1 and (found := await self._find_post(channel, thread_ts, attempt.job)):
            return Spot(channel, found)
        await self.pacer.wait(channel)
        response = await self._call(
            self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, metadata=marker,
                unfurl_links=False, unfurl_media=False, **kwargs,
            )
        )  # fmt: skip
        return Spot(str(response["channel"]), str(response["ts"]))

    async def _find_post(self, channel: str, thread_ts: str | None, job: int) -> str | None:
        if thread_ts:
            history = await self._call(
                self.client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            )
        else:
            history = await self._call(
                self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=50
                )
            )
        for message in history.get("messages") or ():
            if (message.get("metadata") or {}).get("event_payload", {}).get("job") == job:
                return str(message["ts"])
        return None

    async def _call(self, request: Awaitable[T]) -> T:
        """A Web API call whose failures become outbox instructions."""
        try:
            return await request
        except SlackApiError as exc:
            raise _instruction(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"Slack unreachable: {type(exc).__name__}") from exc


class SlackEvents:
    """Thread replies and button presses from Slack, signed, over HTTP or Socket Mode,
    as the core's terms: a conversation, and an employee (or a Slack user who is not
    one). Slack hears 200 only once the listener has committed."""

    def __init__(
        self, settings: Settings, desk: SlackDesk, employees: Employees, sign_in: SignIn
    ) -> None:
        self.settings = settings
        self.desk = desk
        self.employees = employees
        self.threads = Threads(employees.conversations.store)
        bolt_log = logging.getLogger("slack_bolt.frontdesk")
        # Bolt also reads SLACK_BOT_TOKEN itself, then warns that our client's wins.
        bolt_log.addFilter(lambda record: "will be unused" not in record.getMessage())
        self.bolt = AsyncApp(
            signing_secret=settings.slack_signing_secret or "",
            client=desk.client,
            # events() checks the signature before the body reaches bolt
            request_verification_enabled=False,
            process_before_response=True,
            logger=bolt_log,
        )
        self.bolt.event("message")(self._on_message)
        self.bolt.action(CLOSE)(self._on_close)
        self.bolt.action(TAKE_OVER)(self._on_take_over)
        self.bolt.action(TRANSFER)(self._on_transfer)
        away = AwayCommand(desk.employee, employees).on_command
        command = SignInCommand(desk.client, desk.employee, sign_in, settings.public_url, away)
        self.bolt.command(COMMAND)(command.on_command)
        self._socket: Any = None
        secret = settings.slack_signing_secret
        self.verifier = SignatureVerifier(secret) if secret is not None else None

    async def start(self) -> None:
        if self.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.bolt, self.settings.slack_app_token)
            await self._socket.connect_async()
            log.info("slack socket mode connected")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()

    async def events(self, request: Request) -> Response:
        """POST /slack/events: the signature first (401 if bad or stale), then the
        shape (400 unless an object), then bolt, whose parsing assumes both."""
        if self.verifier is None:
            return PlainTextResponse(
                "Slack events over HTTP need SLACK_SIGNING_SECRET", status_code=404
            )
        try:
            body = await payloads.read(request, _MAX_BODY)
        except payloads.Refused as refused:
            return refused.response()
        headers = request.headers
        try:
            signed = self.verifier.is_valid(
                body,
                headers.get("x-slack-request-timestamp", ""),
                headers.get("x-slack-signature", ""),
            )
        except ValueError:  # a timestamp that is not a number
            signed = False
        if not signed:
            return PlainTextResponse("invalid Slack signature", status_code=401)
        readable = envelope.readable(body, headers.get("content-type", ""))
        if readable is None:
            return PlainTextResponse("malformed Slack payload", status_code=400)
        return to_starlette_response(
            await self.bolt.async_dispatch(to_async_bolt_request(request, readable))
        )

    def _who(self, slack_user: str) -> str:
        """In the core's terms: an employee's id, else the Slack user's own id."""
        employee = self.desk.employee(slack_user)
        return employee.id if employee else slack_user

    async def _on_message(self, event: dict[str, Any]) -> None:
        reply = to_reply(event)
        if reply is None:
            return
        conversation = await self.threads.conversation_of(reply.channel, reply.thread_ts)
        if conversation is None:
            return
        mentioned = "<@" in reply.text  # the names are needed only for mentions
        names = {u: e.name for u, e in self.desk.staff().items()} if mentioned else {}
        text = payloads.text(to_plain(reply.text, names)).strip()
        source = f"{reply.channel}:{reply.ts}"
        who = self._who(reply.user)
        outcome = await self.employees.write(conversation, who, text, source, reply.files)
        log.debug("slack thread message", extra={"outcome": outcome, "channel": reply.channel})

    async def _on_close(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        cid, user = conversation_id(body), envelope.actor(body)
        if cid is not None and user is not None:
            await self.employees.close(cid, self._who(user))

    async def _on_take_over(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = envelope.actor(body)
        employee = self.desk.employee(user) if user is not None else None
        if (cid := conversation_id(body)) is not None and employee is not None:
            await self.employees.take_over(cid, employee.id)

    async def _on_transfer(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        cid, user = conversation_id(body), envelope.actor(body)
        chosen = to_transfer(envelope.chosen(body) or "", self.desk.config())
        if cid is not None and user is not None and chosen is not None:
            target, intent = chosen
            await self.employees.transfer(cid, self._who(user), target, intent)


def _instruction(exc: SlackApiError) -> RetryLater | GiveUp:
    response = exc.response
    status = getattr(response, "status_code", 0)
    error = response.get("error") if isinstance(getattr(response, "data", None), dict) else None
    if status == 429:
        retry_after = float(response.headers.get("Retry-After", 1))
        return RetryLater("Slack rate limit", after=retry_after)
    if error in _PERMANENT:
        return GiveUp(f"Slack refused: {error}")
    return RetryLater(f"Slack error: {error or status}")
