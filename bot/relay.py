"""The relay between customers and employees: what happens when a customer writes,
when triage hands off, and when an employee replies, closes or transfers. Every change
is committed together with the jobs that carry it out (see outbox.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.metrics import Metrics
from bot.outbox import Outbox, enqueue
from bot.presenter import introduction
from bot.store import (
    Store,
    conversation_for_thread,
    current_assignment,
    link_customers,
    message_in_conversation,
    open_conversation,
    previous_employee,
    roster,
)
from bot.tables import Assignment, Conversation, Customer, Message, OutboxJob, utcnow
from bot.triage import Reply, TriageState, bot_fields, step
from nlu import Classification, NluError
from routing import Decision, Employee, RoutingConfig, RoutingRequest, Target, route, route_to

log = logging.getLogger(__name__)

Classify = Callable[[str], Awaitable[Classification]]
CUSTOMER_VISIBLE = ("customer", "bot", "employee")


@dataclass(frozen=True)
class Received:
    message: Message
    duplicate: bool


class Relay:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        metrics: Metrics,
        config: Callable[[], RoutingConfig],
        classify: Classify,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.metrics = metrics
        self.config = config
        self.classify = classify
        self.clock = clock
        self.listeners: list[Callable[[int], None]] = []  # told a customer's id on news

    # Customers -----------------------------------------------------------------

    async def receive(
        self,
        customer_id: int,
        channel: str,
        text: str,
        source_id: str,
        details: dict[str, Any] | None = None,
        *,
        triage: bool = True,
    ) -> Received:
        """Store a customer's message (and the job that handles it) before anything is
        acknowledged; a message the channel delivers twice is stored once. With
        `triage=False` (an edit) it is not triaged, only relayed once handed off."""
        for _attempt in range(3):
            try:
                async with self.store.session() as session:
                    message = await self._store_customer_message(
                        session, customer_id, channel, text, source_id, details or {}, triage
                    )
                    await session.commit()
                break
            except IntegrityError:
                async with self.store.session() as session:
                    existing = await find_message(session, channel, source_id)
                if existing is not None:
                    self.metrics.duplicates.labels(channel).inc()
                    return Received(existing, duplicate=True)
                # Another instance opened the customer's conversation first: try again.
        else:
            raise RuntimeError("could not store the message after three attempts")
        self.metrics.received.labels(channel).inc()
        self._changed(customer_id)
        return Received(message, duplicate=False)

    async def _store_customer_message(
        self,
        session: AsyncSession,
        customer_id: int,
        channel: str,
        text: str,
        source_id: str,
        details: dict[str, Any],
        triage: bool,
    ) -> Message:
        conversation = await open_conversation(session, customer_id)
        if conversation is None:
            conversation = Conversation(customer_id=customer_id, channel=channel)
        conversation.channel = channel  # replies go where the customer last wrote
        session.add(conversation)
        await session.flush()
        assert conversation.id is not None
        message = Message(
            conversation_id=conversation.id,
            author="customer",
            body=text,
            details=details,
            source=channel,
            source_id=source_id,
        )
        session.add(message)
        await session.flush()
        if conversation.status != "triage":
            enqueue(session, "slack.post", {"message_id": message.id}, conversation.id)
        elif triage:
            enqueue(session, "triage", {"message_id": message.id}, conversation.id)
        return message

    async def start_chat(
        self, customer_id: int, channel: str, code: str | None, source_id: str
    ) -> int:
        """A customer opened the chat (Telegram's /start): link their identities if they
        came with a code, and greet them. Returns the customer they are now."""
        config = self.config()
        texts = config.triage.texts
        async with self.store.session() as session:
            if await find_message(session, channel, source_id) is not None:
                return customer_id  # this /start was handled before
            reply = texts.greeting.format(**bot_fields(config))
            if code is not None:
                linked = await link_customers(session, code, customer_id, self.clock())
                reply = texts.linked if linked is not None else texts.link_expired
                customer_id = linked or customer_id
            conversation = await open_conversation(session, customer_id)
            if conversation is None:
                conversation = Conversation(
                    customer_id=customer_id, channel=channel, introduced=True
                )
            conversation.channel = channel
            session.add(conversation)
            await session.flush()
            assert conversation.id is not None
            session.add(
                Message(
                    conversation_id=conversation.id,
                    author="system",
                    body="/start",
                    source=channel,
                    source_id=source_id,
                )
            )
            await self._say(session, conversation, Reply(reply))
            await session.commit()
        self._changed(customer_id)
        return customer_id

    async def run_triage(self, job: OutboxJob) -> None:
        """Outbox handler: classify a message in triage, answer it, maybe hand off."""
        config = self.config()
        async with self.store.session() as session:
            message, conversation = await message_in_conversation(
                session, job.payload["message_id"]
            )
            if conversation.status != "triage":  # handed off while this one waited
                enqueue(session, "slack.post", {"message_id": message.id}, conversation.id)
                await session.commit()
                return
        understood = await self._understand(message.body)
        result = step(_state(conversation), message.body, understood, config)
        async with self.store.session() as session:
            session.add(conversation)
            _remember(conversation, result.state)
            for reply in result.replies:
                await self._say(session, conversation, reply)
            if result.handoff:
                await self._hand_off(session, conversation, message, config)
            await session.commit()
        self._changed(conversation.customer_id)

    async def _understand(self, text: str) -> Classification | None:
        started = self.clock()
        try:
            understood = await self.classify(text)
        except ValueError:
            # Nothing a classifier could read (only slashes or spaces): no intent at
            # all, which triage answers with its clarifying question.
            return Classification(intent="", confidence=0.0)
        except NluError as exc:
            self.metrics.nlu_errors.labels(type(exc).__name__).inc()
            log.warning("NLU failed; routing without it", extra={"error": type(exc).__name__})
            return None
        self.metrics.nlu_seconds.observe((self.clock() - started).total_seconds())
        return understood

    async def _hand_off(
        self,
        session: AsyncSession,
        conversation: Conversation,
        trigger: Message,
        config: RoutingConfig,
    ) -> None:
        customer = await session.get(Customer, conversation.customer_id)
        assert customer is not None
        previous = await previous_employee(session, conversation.customer_id)
        request = RoutingRequest(
            channel="telegram" if conversation.channel == "telegram" else "web",
            intent=conversation.intent if conversation.intent else None,
            entities=frozenset(conversation.entities),
            language=customer.language,
            customer_tags=frozenset(customer.tags),
            previous_employee=previous,
        )
        decision = route(request, await roster(session), config, self.clock())
        assignment = await self._assign(session, conversation, decision)
        text = introduction(decision, config, previous, self.clock())
        await self._say(session, conversation, Reply(text), introduces=decision.employee.id)
        payload = {"assignment_id": assignment.id, "upto": trigger.id}
        enqueue(session, "slack.card", payload, conversation.id)
        self.metrics.routed.labels(
            decision.rule.name if decision.rule else "fallback", decision.availability
        ).inc()

    async def _assign(
        self, session: AsyncSession, conversation: Conversation, decision: Decision
    ) -> Assignment:
        assert conversation.id is not None
        now = self.clock()
        current = await current_assignment(session, conversation.id)
        if current is not None:
            current.ended_at = now
            session.add(current)
        assignment = Assignment(
            conversation_id=conversation.id,
            employee_id=decision.employee.id,
            team_id=decision.team.id if decision.team else None,
            rule=decision.rule.name if decision.rule else None,
            reasons=list(decision.reasons),
            assigned_at=now,
        )
        conversation.employee_id = decision.employee.id
        conversation.status = "waiting"
        session.add_all([assignment, conversation])
        await session.flush()
        return assignment

    async def _say(
        self,
        session: AsyncSession,
        conversation: Conversation,
        reply: Reply,
        *,
        introduces: str | None = None,
    ) -> Message:
        details: dict[str, Any] = {}
        if reply.quick_replies:
            details["quick_replies"] = list(reply.quick_replies)
        if introduces:
            details["introduces"] = introduces
        assert conversation.id is not None
        message = Message(
            conversation_id=conversation.id,
            author="bot",
            body=reply.text,
            details=details,
            source="bot",
        )
        session.add(message)
        await session.flush()
        self._deliver(session, conversation, message)
        return message

    def _deliver(self, session: AsyncSession, conversation: Conversation, message: Message) -> None:
        """Channels that push (Telegram) get a job; the widget reads from the store."""
        if conversation.channel == "telegram":
            enqueue(session, "telegram.send", {"message_id": message.id}, conversation.id)

    def _changed(self, customer_id: int) -> None:
        self.outbox.wake()
        for listener in self.listeners:
            listener(customer_id)

    # Employees -----------------------------------------------------------------

    async def employee_message(
        self, channel: str, thread_ts: str, slack_user: str, text: str, ts: str
    ) -> str:
        """An employee wrote in a conversation's thread. Only the assigned employee's
        replies reach the customer; `note:` and colleagues' messages stay internal.
        Returns what happened: delivered, internal, duplicate or unknown."""
        config = self.config()
        employee = _by_slack_id(config, slack_user)
        async with self.store.session() as session:
            conversation = await conversation_for_thread(session, channel, thread_ts)
            if conversation is None:
                return "unknown"
            assigned = employee is not None and employee.id == conversation.employee_id
            is_note = text.lstrip().lower().startswith("note:")
            delivered = assigned and not is_note
            body = text.lstrip()[len("note:") :].strip() if is_note else text
            assert conversation.id is not None
            message = Message(
                conversation_id=conversation.id,
                author="employee" if delivered else "note",
                employee_id=employee.id if employee else None,
                body=body,
                details={} if employee else {"slack_user": slack_user},
                source="slack",
                source_id=f"{channel}:{ts}",
            )
            session.add(message)
            try:
                await session.flush()  # a retried Slack event fails here
            except IntegrityError:
                self.metrics.duplicates.labels("slack").inc()
                return "duplicate"
            if delivered:
                await self._employee_replied(session, conversation)
                self._deliver(session, conversation, message)
            await session.commit()
        self.metrics.employee_messages.labels("reply" if delivered else "internal").inc()
        if delivered:
            self._changed(conversation.customer_id)
        return "delivered" if delivered else "internal"

    async def _employee_replied(self, session: AsyncSession, conversation: Conversation) -> None:
        assert conversation.id is not None
        if conversation.status == "closed":
            conversation.closed_at = None  # a reply reopens it
        conversation.status = "open"
        session.add(conversation)
        assignment = await current_assignment(session, conversation.id)
        if assignment is not None and assignment.first_reply_at is None:
            assignment.first_reply_at = self.clock()
            session.add(assignment)
            waited = (assignment.first_reply_at - assignment.assigned_at).total_seconds()
            self.metrics.first_response.observe(waited)

    async def close(self, conversation_id: int, slack_user: str) -> bool:
        config = self.config()
        closer = _by_slack_id(config, slack_user)
        async with self.store.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.status == "closed":
                return False
            conversation.status = "closed"
            conversation.closed_at = self.clock()
            session.add(conversation)
            current = await current_assignment(session, conversation_id)
            if current is not None:
                current.ended_at = conversation.closed_at
                session.add(current)
            name = closer.name if closer else _name_of(config, conversation.employee_id)
            await self._say(
                session, conversation, Reply(config.triage.texts.closed.format(name=name))
            )
            enqueue(session, "slack.update", {"closed_by": slack_user}, conversation_id)
            await session.commit()
        self._changed(conversation.customer_id)
        return True

    async def transfer(
        self, conversation_id: int, slack_user: str, target: Target
    ) -> Decision | None:
        """Hand the conversation to another team or person: a new card in their Slack."""
        config = self.config()
        by = _by_slack_id(config, slack_user)
        async with self.store.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.status == "closed":
                return None
            previous = conversation.employee_id
            who = by.name if by else "A colleague"
            request = RoutingRequest(
                channel="telegram" if conversation.channel == "telegram" else "web"
            )
            decision = route_to(
                target, request, await roster(session), config, self.clock(),
                why=f"{who} transferred the conversation ({target.describe()}).",
                exclude=frozenset({previous} if previous else ()),
            )  # fmt: skip
            assignment = await self._assign(session, conversation, decision)
            old_thread = [conversation.slack_channel, conversation.slack_thread_ts]
            conversation.slack_channel = conversation.slack_thread_ts = None  # a new card
            session.add(conversation)
            text = introduction(
                decision, config, None, self.clock(), handed_over_by=_name_of(config, previous)
            )
            await self._say(session, conversation, Reply(text), introduces=decision.employee.id)
            update = {
                "transferred_to": decision.employee.id,
                "by": slack_user,
                "thread": old_thread,
            }
            enqueue(session, "slack.update", update, conversation_id)
            enqueue(
                session,
                "slack.card",
                {"assignment_id": assignment.id, "upto": None},
                conversation_id,
            )
            await session.commit()
        self._changed(conversation.customer_id)
        return decision

    async def take_over(self, conversation_id: int, slack_user: str) -> bool:
        """A colleague in a team channel takes the conversation over, in the same thread."""
        config = self.config()
        employee = _by_slack_id(config, slack_user)
        if employee is None:
            return False
        async with self.store.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            if (
                conversation is None
                or conversation.status == "closed"
                or conversation.employee_id == employee.id
            ):
                return False
            previous = conversation.employee_id
            decision = route_to(
                Target(employee=employee.id),
                RoutingRequest(channel="web"),
                await roster(session),
                config,
                self.clock(),
                why=f"{employee.name} took the conversation over.",
            )
            await self._assign(session, conversation, decision)
            conversation.status = "open"
            text = introduction(
                decision, config, None, self.clock(), handed_over_by=_name_of(config, previous)
            )
            await self._say(session, conversation, Reply(text), introduces=employee.id)
            enqueue(session, "slack.update", {"taken_over_by": employee.id}, conversation_id)
            await session.commit()
        self._changed(conversation.customer_id)
        return True


def _state(conversation: Conversation) -> TriageState:
    return TriageState(
        introduced=conversation.introduced,
        intent=conversation.intent,
        confidence=conversation.confidence,
        entities=MappingProxyType(dict(conversation.entities)),
        offered=tuple(conversation.offered),
        asked_for=conversation.asked_for,
    )


def _remember(conversation: Conversation, state: TriageState) -> None:
    conversation.introduced = state.introduced
    conversation.intent = state.intent
    conversation.confidence = state.confidence
    conversation.entities = dict(state.entities)
    conversation.offered = list(state.offered)
    conversation.asked_for = state.asked_for


def _by_slack_id(config: RoutingConfig, slack_user: str) -> Employee | None:
    return next((e for e in config.employees if e.slack_user_id == slack_user), None)


def _name_of(config: RoutingConfig, employee_id: str | None) -> str:
    if employee_id is not None and config.has_employee(employee_id):
        return config.employee(employee_id).name
    return "Your contact"


async def find_message(session: AsyncSession, source: str, source_id: str) -> Message | None:
    found = await session.exec(
        select(Message).where(Message.source == source, Message.source_id == source_id)
    )
    return found.first()
