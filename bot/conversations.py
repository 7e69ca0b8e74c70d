"""What customers' and employees' actions both do to a conversation: store a message
and get it to the customer, give the conversation to a person, and describe people as
customers see them. Shared by customers.py and employees.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from bot.jobs import Deliver
from bot.metrics import Metrics
from bot.outbox import Outbox, Tx
from bot.roles import Channels, Person
from bot.store import Store
from bot.store import conversations as stored
from bot.store.rows import add, key
from bot.tables import Assignment, Conversation, Message, utcnow
from bot.triage import Reply
from routing import Decision, RoutingConfig, RoutingRequest, Target, considered, route_to

UNKNOWN_PERSON = "Your contact"  # someone no longer in the config


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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self.outbox.transaction() as tx:
            yield tx

    async def deliver(self, tx: Tx, conversation: Conversation, message: Message) -> None:
        """Get a stored message to the customer: sent, if their channel sends (the
        widget instead reads the store when it hears the news)."""
        if self.channels.sender(conversation.channel) is not None:
            await tx.enqueue(Deliver(key(message)), conversation_id=conversation.id)
        tx.announce(customer_news(conversation.customer_id, key(message)))

    async def say(
        self, tx: Tx, conversation: Conversation, reply: Reply, *, introduces: str | None = None
    ) -> Message:
        """The bot says something in the conversation."""
        details: dict[str, Any] = {}
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
        their desk, or keeps the current one)."""
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
        return assignment

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
        roster = await stored.roster(tx.connection, considered(request, config, target))
        return route_to(target, request, roster, config, self.clock(), why=why, exclude=exclude)

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
