"""The Slack side, with slack-bolt: events and button presses in (signed, over HTTP or
Socket Mode), cards and thread posts out (outbox jobs, retried, 429-aware)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.cards import (
    CLOSE,
    TAKE_OVER,
    TRANSFER,
    CardView,
    Earlier,
    Line,
    card,
    conversation_id,
    escape,
    thread_text,
    to_plain,
    to_reply,
)
from bot.outbox import GiveUp, Handler, RetryLater
from bot.relay import Relay
from bot.settings import Settings
from bot.store import Store, current_assignment
from bot.tables import Assignment, Conversation, Customer, Message, OutboxJob, SlackThread
from routing import RoutingConfig, Target

log = logging.getLogger(__name__)

# Errors that retrying cannot fix.
_PERMANENT = {
    "account_inactive", "channel_not_found", "invalid_auth", "is_archived", "msg_too_long",
    "no_text", "not_authed", "not_in_channel", "token_revoked", "user_not_found",
    "cannot_dm_bot", "invalid_blocks",
}  # fmt: skip


class SlackDesk:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        relay: Relay,
        config: Callable[[], RoutingConfig],
    ) -> None:
        self.settings = settings
        self.store = store
        self.relay = relay
        self.config = config
        # Retries belong to the outbox, which is durable and honours Retry-After.
        self.client = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=15,
            retry_handlers=[],
        )
        self.bolt = AsyncApp(
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret or "",
            client=self.client,
            request_verification_enabled=settings.slack_signing_secret is not None,
            # Listeners only commit to our database, so Slack hears 200 only after that.
            process_before_response=True,
            logger=logging.getLogger("slack_bolt.frontdesk"),
        )
        self.bolt.event("message")(self._on_message)
        self.bolt.action(CLOSE)(self._on_close)
        self.bolt.action(TAKE_OVER)(self._on_take_over)
        self.bolt.action(TRANSFER)(self._on_transfer)
        self._http = AsyncSlackRequestHandler(self.bolt)
        self._socket: Any = None
        self._names: dict[str, str] = {}

    def handlers(self) -> dict[str, Handler]:
        return {
            "slack.card": self.post_card,
            "slack.post": self.post_in_thread,
            "slack.update": self.update_card,
        }

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
        """POST /slack/events: bolt checks the signature (401 if bad or stale)."""
        if self.settings.slack_signing_secret is None:
            return PlainTextResponse(
                "Slack events over HTTP need SLACK_SIGNING_SECRET", status_code=404
            )
        try:
            return await self._http.handle(request)
        except ValueError:  # a signed body that is not JSON or form data
            return PlainTextResponse("malformed Slack payload", status_code=400)

    # Slack -> us ---------------------------------------------------------------

    async def _on_message(self, event: dict[str, Any]) -> None:
        message = to_reply(event)
        if message is None:
            return
        names = {e.slack_user_id: e.name for e in self.config().employees}
        text = to_plain(message.text, names)
        outcome = await self.relay.employee_message(
            message.channel, message.thread_ts, message.user, text.strip(), message.ts
        )
        log.info("slack thread message", extra={"outcome": outcome, "channel": message.channel})

    async def _on_close(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        if (cid := conversation_id(body)) is not None:
            await self.relay.close(cid, body["user"]["id"])

    async def _on_take_over(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        if (cid := conversation_id(body)) is not None:
            await self.relay.take_over(cid, body["user"]["id"])

    async def _on_transfer(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        cid = conversation_id(body)
        kind, _, target = str(body["actions"][0]["selected_option"]["value"]).partition(":")
        if cid is None or kind not in ("team", "employee"):
            return
        config = self.config()
        known = (
            config.has_employee(target)
            if kind == "employee"
            else target in {t.id for t in config.teams}
        )
        if known:
            await self.relay.transfer(cid, body["user"]["id"], Target(**{kind: target}))

    # us -> Slack (outbox jobs) -------------------------------------------------

    async def post_card(self, job: OutboxJob) -> None:
        config = self.config()
        async with self.store.session() as session:
            assignment = await session.get(Assignment, job.payload["assignment_id"])
            assert assignment is not None
            posted = await session.exec(
                select(SlackThread).where(SlackThread.assignment_id == assignment.id)
            )
            if posted.first() is not None:
                return
            conversation = await session.get(Conversation, assignment.conversation_id)
            assert conversation is not None
            employee = config.employee(assignment.employee_id)
            team = config.team(assignment.team_id) if assignment.team_id else None
            channel = team.slack_channel if team and team.slack_channel else None
        upto = job.payload.get("upto")
        view = await self._view(conversation, assignment, upto, in_channel=bool(channel))
        text, blocks = card(view, config)
        if channel:
            text = f"<@{employee.slack_user_id}> {text}"
        else:
            opened = await self._call("conversations_open", users=employee.slack_user_id)
            channel = str(opened["channel"]["id"])
        ts = await self._post(job, channel, None, text=text, blocks=blocks)
        async with self.store.session() as session:
            conversation.slack_channel, conversation.slack_thread_ts = channel, ts
            session.add(conversation)
            session.add(
                SlackThread(
                    conversation_id=assignment.conversation_id,
                    channel=channel,
                    ts=ts,
                    assignment_id=job.payload["assignment_id"],
                )
            )
            await session.commit()

    async def post_in_thread(self, job: OutboxJob) -> None:
        """A customer's later message, or a note for the employee, into the thread."""
        async with self.store.session() as session:
            conversation = await session.get(Conversation, job.conversation_id)
            assert conversation is not None
            message = await session.get(Message, job.payload.get("message_id", 0))
            customer = await session.get(Customer, conversation.customer_id)
            assert customer is not None
        channel, thread = conversation.slack_channel, conversation.slack_thread_ts
        if not channel or not thread:
            raise RetryLater("the conversation's card is not in Slack yet")
        if message is None:  # a note for the employee
            await self._post(job, channel, thread, text=f":warning: {escape(job.payload['note'])}")
            return
        if message.details.get("slack_ts"):
            return
        text = thread_text(display_name(customer), message.body, message.details)
        ts = await self._post(job, channel, thread, text=text)
        async with self.store.session() as session:
            message.details = {**message.details, "slack_ts": ts}
            session.add(message)
            await session.commit()

    async def update_card(self, job: OutboxJob) -> None:
        """After a close, transfer or take-over: the card says so; the old thread of
        a transfer is told it no longer reaches the customer."""
        config = self.config()
        payload = job.payload
        async with self.store.session() as session:
            conversation = await session.get(Conversation, job.conversation_id)
            assert conversation is not None
            channel, ts = payload.get("thread") or [
                conversation.slack_channel,
                conversation.slack_thread_ts,
            ]
            if not channel or not ts:
                raise RetryLater("the conversation's card is not in Slack yet")
            assignment = await current_assignment(session, conversation.id or 0)
            if assignment is None:  # closed: the last assignment
                assignment = (
                    await session.exec(
                        select(Assignment)
                        .where(Assignment.conversation_id == conversation.id)
                        .order_by(col(Assignment.id).desc())
                    )
                ).first()
            assert assignment is not None
        status, note = None, None
        if "closed_by" in payload:
            closer = await self._name(payload["closed_by"])
            status = f"Closed by {closer}. A reply in this thread reopens it."
        elif "transferred_to" in payload:
            to = config.employee(payload["transferred_to"]).name
            status = f"Transferred to {to} by {await self._name(payload['by'])}."
            note = f"{status} Messages in this thread no longer reach the customer."
        elif "taken_over_by" in payload:
            to = config.employee(payload["taken_over_by"]).name
            note = f"{to} took this conversation over: only {to}'s replies reach the customer now."
        in_channel = channel in {t.slack_channel for t in config.teams}
        view = await self._view(
            conversation, assignment, None, in_channel=in_channel, status=status
        )
        text, blocks = card(view, config)
        await self._call("chat_update", channel=channel, ts=ts, text=text, blocks=blocks)
        if note:
            await self._post(job, channel, ts, text=escape(note))

    async def _view(
        self,
        conversation: Conversation,
        assignment: Assignment,
        upto: int | None,
        *,
        in_channel: bool,
        status: str | None = None,
    ) -> CardView:
        config = self.config()
        async with self.store.session() as session:
            customer = await session.get(Customer, conversation.customer_id)
            assert customer is not None
            assert conversation.id is not None
            messages = (
                await session.exec(
                    select(Message)
                    .where(Message.conversation_id == conversation.id)
                    .order_by(col(Message.id))
                )
            ).all()
            earlier = (
                await session.exec(
                    select(Conversation, func.count(col(Message.id)))
                    .join(
                        Message, col(Message.conversation_id) == col(Conversation.id), isouter=True
                    )
                    .where(
                        Conversation.customer_id == customer.id, Conversation.id != conversation.id
                    )
                    .group_by(col(Conversation.id))
                    .order_by(col(Conversation.id).desc())
                    .limit(5)
                )
            ).all()
        names = {"customer": display_name(customer), "bot": config.company.bot_name}
        transcript = [
            Line(
                names.get(m.author) or await self._author(m, config),
                m.author,
                m.body,
                m.created_at,
                m.details,
            )
            for m in messages
            if upto is None or m.author != "customer" or (m.id or 0) <= upto
        ]
        return CardView(
            conversation_id=conversation.id,
            customer=display_name(customer),
            channel="Telegram" if conversation.channel == "telegram" else "the web chat",
            language=customer.language,
            tags=customer.tags,
            intent=conversation.intent,
            confidence=conversation.confidence,
            entities=conversation.entities,
            rule=assignment.rule,
            reasons=assignment.reasons,
            assignee=config.employee(assignment.employee_id).name,
            transcript=transcript,
            earlier=[
                Earlier(
                    c.created_at, c.intent, _employee_name(config, c.employee_id), c.status, count
                )
                for c, count in earlier
            ],
            in_channel=in_channel,
            status=status,
        )

    async def _author(self, message: Message, config: RoutingConfig) -> str:
        if message.employee_id and config.has_employee(message.employee_id):
            return config.employee(message.employee_id).name
        return await self._name(str(message.details.get("slack_user", "")))

    async def _name(self, slack_user: str) -> str:
        """A Slack user's name: from config.yml, else from users.info (cached)."""
        employee = next((e for e in self.config().employees if e.slack_user_id == slack_user), None)
        if employee is not None:
            return employee.name
        if slack_user not in self._names:
            try:
                info = await self._call("users_info", user=slack_user)
                profile = info["user"].get("profile") or {}
                name = (
                    profile.get("real_name")
                    or info["user"].get("real_name")
                    or info["user"]["name"]
                )
            except (RetryLater, GiveUp, KeyError):
                return f"Slack user {slack_user}"
            self._names[slack_user] = str(name)
        return self._names[slack_user]

    async def _post(
        self, job: OutboxJob, channel: str, thread_ts: str | None, **kwargs: Any
    ) -> str:
        """chat.postMessage, marked with the job's id so that a post whose response was
        lost is found, not repeated, on the next attempt."""
        marker = {"event_type": "frontdesk_post", "event_payload": {"job": job.id}}
        if job.attempts > 1 and (found := await self._find_post(channel, thread_ts, job.id)):
            return found
        response = await self._call(
            "chat_postMessage", channel=channel, thread_ts=thread_ts, metadata=marker,
            unfurl_links=False, unfurl_media=False, **kwargs,
        )  # fmt: skip
        return str(response["ts"])

    async def _find_post(
        self, channel: str, thread_ts: str | None, job_id: int | None
    ) -> str | None:
        if thread_ts:
            history = await self._call(
                "conversations_replies",
                channel=channel,
                ts=thread_ts,
                include_all_metadata=True,
                limit=200,
            )
        else:
            history = await self._call(
                "conversations_history", channel=channel, include_all_metadata=True, limit=50
            )
        for message in history.get("messages") or ():
            if (message.get("metadata") or {}).get("event_payload", {}).get("job") == job_id:
                return str(message["ts"])
        return None

    async def _call(self, method: str, **kwargs: Any) -> Any:
        """A Web API call whose failures become outbox instructions."""
        try:
            return await getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            raise _instruction(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"Slack unreachable: {type(exc).__name__}") from exc


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


def display_name(customer: Customer) -> str:
    return customer.name or f"Visitor #{customer.id}"


def _employee_name(config: RoutingConfig, employee_id: str | None) -> str | None:
    if employee_id and config.has_employee(employee_id):
        return config.employee(employee_id).name
    return employee_id
