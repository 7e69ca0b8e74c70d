"""What customers' and employees' actions both do to a conversation: store a message
and get it to the customer, give the conversation to a person, and describe people as
customers see them. Shared by customers.py and employees.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.fresh import FreshMessages
from bot.jobs import Deliver, Escalate, Remind
from bot.metrics import Metrics
from bot.outbox import Outbox, Tx
from bot.presenter import introduction
from bot.presenter import within as in_words
from bot.reply_times import usual_reply
from bot.roles import Channels, EmployeeDesk, Person
from bot.store import Connection, Store
from bot.store import conversations as stored
from bot.store.rows import add, key
from bot.tables import Assignment, Conversation, Message, utcnow
from bot.triage import Reply
from routing import (
    Decision,
    EmployeeState,
    RoutingConfig,
    RoutingRequest,
    Target,
    considered,
    route_to,
)

UNKNOWN_PERSON = "Your contact"  # someone no longer in the config


def reply_due(config: RoutingConfig, assignment: Assignment) -> tuple[datetime, datetime] | None:
    """When the assignee is reminded and when the conversation moves on, if it has no
    reply by then: shares of `first_reply_within` of their working time after the
    assignment (None: no escalation for its team). Routed to a person, the team is their
    first."""
    if not config.has_employee(assignment.employee_id):
        return None
    employee = config.employee(assignment.employee_id)
    within = config.first_reply_within(escalation_team(config, assignment))
    if within is None:
        return None
    seconds, start = within.total_seconds(), assignment.assigned_at
    remind = employee.hours.after_working(start, seconds * config.escalation.remind_at)
    return remind, employee.hours.after_working(start, seconds)


def escalation_team(config: RoutingConfig, assignment: Assignment) -> str:
    """The team a conversation moves within when nobody replies."""
    return assignment.team_id or config.employee(assignment.employee_id).teams[0]


def customer_news(customer_id: int, message_id: int) -> str:
    """The news a customer's open widgets listen for: a message they may see."""
    return f"customer:{customer_id}:{message_id}"


class Conversations:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        channels: Channels,
        metrics: Metrics,
        config: Callable[[], RoutingConfig],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.channels = channels
        self.metrics = metrics
        self.config = config
        self.clock = clock
        self.desk: EmployeeDesk | None = None  # once one is connected: who it shows away
        self.fresh = FreshMessages()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self.outbox.transaction() as tx:
            yield tx

    async def deliver(self, tx: Tx, conversation: Conversation, message: Message) -> None:
        """Get a stored message to the customer: sent, if their channel sends (the
        widget instead reads the store when it hears the news). In the customer's own
        lane: in order with what else they are sent, not behind the desk's posts (a
        desk not connected yet holds those)."""
        if self.channels.sender(conversation.channel) is not None:
            lane = f"customer:{conversation.customer_id}"
            await tx.enqueue(Deliver(key(message)), conversation_id=conversation.id, lane=lane)
        self.tell_customer(tx, conversation.customer_id, message)

    def tell_customer(self, tx: Tx, customer_id: int, message: Message) -> None:
        """Once `tx` commits: news for the customer's open sockets, and the message kept
        for those in this instance (`fresh`), which then need not read it back."""
        tx.announce(customer_news(customer_id, key(message)))
        tx.after_commit(lambda: self.fresh.add(customer_id, message))

    async def say(
        self,
        tx: Tx,
        conversation: Conversation,
        reply: Reply,
        *,
        introduces: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Message:
        """The bot says something in the conversation (`details`: what else the message
        carries, for example that it asks for a rating)."""
        details = dict(details or {})
        if reply.quick_replies:
            details["quick_replies"] = list(reply.quick_replies)
        if introduces:
            details["introduces"] = introduces
        message = Message(
            conversation_id=key(conversation),
            author="bot",
            body=reply.text,
            details=details,
            source="bot",
            created_at=self.clock(),
        )
        await add(tx.connection, message)
        await self.deliver(tx, conversation, message)
        return message

    async def assign(
        self, tx: Tx, conversation: Conversation, decision: Decision, *, status: str = "waiting"
    ) -> Assignment:
        """Give the conversation to the person routing chose (the caller puts a card on
        their desk, or keeps the current one). One left `waiting` for its first reply
        gets a reminder and an escalation when `first_reply_within` says (escalation.py)."""
        assignment = await stored.assign(
            tx.connection,
            Assignment(
                conversation_id=key(conversation),
                employee_id=decision.employee.id,
                team_id=decision.team.id if decision.team else None,
                rule=decision.rule.name if decision.rule else None,
                reasons=list(decision.reasons),
                assigned_at=self.clock(),
            ),
            status,
        )
        conversation.employee_id, conversation.status = decision.employee.id, status
        if status == "waiting":
            await self._expect_reply(tx, assignment)
        return assignment

    async def _expect_reply(self, tx: Tx, assignment: Assignment) -> None:
        """Timers in the outbox (on no lane: they must not hold up the conversation's
        messages), due after so much of the assignee's working time; each checks again
        when it runs."""
        due = reply_due(self.config(), assignment)
        if due is not None:
            remind, escalate = due
            conversation = assignment.conversation_id
            await tx.enqueue(Remind(key(assignment)), conversation_id=conversation,
                             lane=None, run_after=remind)  # fmt: skip
            await tx.enqueue(Escalate(key(assignment)), conversation_id=conversation,
                             lane=None, run_after=escalate)  # fmt: skip

    async def introduce(
        self,
        tx: Tx,
        conversation: Conversation,
        decision: Decision,
        *,
        previous: str | None = None,
        handed_over_by: str | None = None,
        escalated_from: str | None = None,
    ) -> None:
        """The bot tells the customer who answers them now (`previous`: who helped them
        last time), and when: how fast that person usually replies, or their hours."""
        config, now = self.config(), self.clock()
        employee = decision.employee.id
        usual = await usual_reply(tx.connection, employee, now) if decision.available else None
        text = introduction(
            decision, config, previous, now,
            handed_over_by=handed_over_by, escalated_from=escalated_from, reply_time=usual,
        )  # fmt: skip
        # The person's card repeats the figure the text gives (see `introduced`).
        details = {"replies_within": in_words(usual)} if usual is not None else None
        await self.say(tx, conversation, Reply(text), introduces=employee, details=details)

    async def reroute(
        self,
        tx: Tx,
        conversation: Conversation,
        target: Target,
        *,
        why: str,
        exclude: frozenset[str] = frozenset(),
    ) -> Decision:
        """Who in `target` takes the conversation over now (a transfer, a take-over)."""
        config, request = self.config(), RoutingRequest(channel=conversation.channel)
        roster = await self.roster(tx.connection, considered(request, config, target))
        return route_to(target, request, roster, config, self.clock(), why=why, exclude=exclude)

    async def roster(
        self, connection: Connection, employee_ids: Collection[str]
    ) -> dict[str, EmployeeState]:
        """These employees' live state for routing, with whom the desk shows as not there
        (asked first, so that the roster's lock is not held while the desk answers)."""
        absent = await self.desk.presence(employee_ids) if self.desk is not None else {}
        roster = await stored.roster(connection, employee_ids)
        for employee_id, why in absent.items():
            roster[employee_id] = replace(roster.get(employee_id, EmployeeState()), absent=why)
        return roster

    def person(self, employee_id: str | None) -> Person:
        """An employee as customers see them."""
        config = self.config()
        if employee_id is None or not config.has_employee(employee_id):
            return Person(UNKNOWN_PERSON)
        employee = config.employee(employee_id)
        return Person(
            name=employee.name,
            title=employee.title,
            team=config.team(employee.teams[0]).name,
            photo_url=employee.photo_url,
            hours=employee.hours.describe(),
        )

    def introduced(self, message: Message) -> Person | None:
        """The person a bot's message introduces, with how fast they usually reply if
        the message said so."""
        employee_id = message.details.get("introduces")
        if not employee_id:
            return None
        figure = message.details.get("replies_within")
        return replace(self.person(employee_id), replies_within=figure)
