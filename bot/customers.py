"""What happens when a customer acts: they are recognised, their message is stored
(with the job that handles it, before anything is acknowledged), triage answers it,
and at the end of triage the conversation is handed to a person."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.conversations import Conversations
from bot.handoff import CHOOSING, Handoff
from bot.jobs import HandleInbound, PostInThread, Triage
from bot.outbox import GiveUp, Record, Tx, Work
from bot.store import conversations as stored
from bot.store import customers as people
from bot.store import queue
from bot.store.messages import add_once, find_message, message_in_conversation
from bot.store.rows import add, change, key
from bot.tables import Conversation, Message
from bot.triage import Reply, TriageState, bot_fields, step
from nlu import Classification, NluError, NothingToClassify

log = logging.getLogger(__name__)

Classify = Callable[[str], Awaitable[Classification]]


@dataclass(frozen=True)
class Received:
    message: Message
    duplicate: bool


class Customers:
    def __init__(self, conversations: Conversations, classify: Classify) -> None:
        self.conversations = conversations
        self.classify = classify
        self.metrics = conversations.metrics
        self.store = conversations.store
        self.handoff = Handoff(conversations)

    async def identify(
        self, channel: str, address: str, *, name: str | None = None, language: str | None = None
    ) -> int:
        """The customer behind a channel's address, made on first contact."""
        async with self.store.transaction() as connection:
            return await people.customer_for(
                connection, channel, address, name=name, language=language
            )

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
        """Store a customer's message and the job that handles it, in one transaction;
        a message the channel delivers twice is stored once. With `triage=False` (an
        edit) it is not triaged, only passed on once a person has the conversation."""
        async with self.conversations.transaction() as tx:
            conversation = await stored.open_or_start(
                tx.connection, customer_id, channel, self.conversations.clock()
            )
            message = Message(
                conversation_id=key(conversation),
                author="customer",
                body=text,
                details=details or {},
                source=channel,
                source_id=source_id,
                created_at=self.conversations.clock(),
            )
            if not await add_once(tx.connection, message):
                existing = await find_message(tx.connection, channel, source_id)
                assert existing is not None
                self.metrics.duplicates.labels(channel).inc()
                return Received(existing, duplicate=True)
            if conversation.status != "triage":
                await tx.enqueue(PostInThread(key(message)), conversation_id=conversation.id)
            elif triage:
                await tx.enqueue(Triage(key(message)), conversation_id=conversation.id)
            self.conversations.tell_customer(tx, customer_id, message)
        self.metrics.received.labels(channel).inc()
        return Received(message, duplicate=False)

    async def start(self, customer_id: int, channel: str, code: str | None, source_id: str) -> int:
        """A customer opened the chat, maybe with a link code from another channel:
        link their identities and greet them. Returns the customer they are now."""
        config = self.conversations.config()
        texts = config.triage.texts
        async with self.conversations.transaction() as tx:
            if await find_message(tx.connection, channel, source_id) is not None:
                return customer_id  # this start was handled before
            reply = texts.greeting.format(**bot_fields(config))
            if code is not None:
                now = self.conversations.clock()
                linked = await people.link_customers(tx.connection, code, customer_id, now)
                reply = texts.linked if linked is not None else texts.link_expired
                customer_id = linked or customer_id
            conversation = await stored.open_or_start(
                tx.connection, customer_id, channel, self.conversations.clock(), introduced=True
            )
            opened = Message(
                conversation_id=key(conversation),
                author="system",
                body="(opened the chat)",
                source=channel,
                source_id=source_id,
            )
            await add(tx.connection, opened)
            await self.conversations.say(tx, conversation, Reply(reply))
        return customer_id

    async def invitation(self, customer_id: int, channel: str) -> str:
        """A one-time link that makes this customer's chat on `channel` theirs too."""
        async with self.store.transaction() as connection:
            now = self.conversations.clock()
            code = await people.new_link_code(connection, customer_id, now)
        return self.conversations.channels.invitation(channel, code)

    async def handle_inbound(self, work: Work[HandleInbound]) -> None:
        """A channel's stored update: the channel reads it and acts through this core."""
        job = work.job
        reader = self.conversations.channels.reader(job.channel)
        if reader is None:
            raise GiveUp(f"no channel {job.channel!r} reads stored updates")
        async with self.store.reading() as connection:
            payload = await queue.inbound(connection, job.channel, job.key)
        if payload is None:
            raise GiveUp(f"update {job.key} of {job.channel} is not stored")
        await reader.handle_inbound(payload)

    async def triage(self, work: Work[Triage]) -> Record:
        """Classify a message in triage and answer it; maybe hand off. What it decides
        commits with the job's completion, so a retry never repeats a handoff."""
        async with self.store.reading() as connection:
            message, conversation = await message_in_conversation(connection, work.job.message_id)
        if conversation.status != "triage":  # handed off while this one waited

            async def relay(tx: Tx) -> None:
                await tx.enqueue(PostInThread(key(message)), conversation_id=conversation.id)

            return relay
        config = self.conversations.config()
        if conversation.asked_for == CHOOSING:  # the answer to: wait, or someone now?

            async def chosen(tx: Tx) -> None:
                await self.handoff.choose(tx, conversation, message, config)

            return chosen
        understood = await self._understand(message.body)
        result = step(_state(conversation), message.body, understood, config)

        async def record(tx: Tx) -> None:
            state = result.state
            await change(
                tx.connection,
                conversation,
                introduced=state.introduced,
                intent=state.intent,
                confidence=state.confidence,
                entities=dict(state.entities),
                offered=list(state.offered),
                asked_for=state.asked_for,
            )
            if understood is not None and understood.language:
                await people.writes_in(tx.connection, conversation.customer_id, understood.language)
            for reply in result.replies:
                await self.conversations.say(tx, conversation, reply)
            if result.handoff:
                await self.handoff.hand_off(tx, conversation, message, config)

        return record

    async def _understand(self, text: str) -> Classification | None:
        started = self.conversations.clock()
        try:
            understood = await self.classify(text)
        except NothingToClassify:
            # Only slashes or spaces: no intent at all, which triage answers with its
            # clarifying question.
            return Classification(intent="", confidence=0.0)
        except NluError as exc:
            self.metrics.nlu_errors.labels(type(exc).__name__).inc()
            log.warning("NLU failed; routing without it", extra={"error": type(exc).__name__})
            return None
        elapsed = self.conversations.clock() - started
        self.metrics.nlu_seconds.observe(elapsed.total_seconds())
        return understood


def _state(conversation: Conversation) -> TriageState:
    return TriageState(
        introduced=conversation.introduced,
        intent=conversation.intent,
        confidence=conversation.confidence,
        entities=MappingProxyType(dict(conversation.entities)),
        offered=tuple(conversation.offered),
        asked_for=conversation.asked_for,
    )
