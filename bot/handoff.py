"""The end of triage: the customer is given to a person, who is introduced by name. A
returning customer whose usual person cannot answer now chooses first, with quick
replies: wait for them (and hear when they are back), or talk to the named stand-in now."""

from __future__ import annotations

from datetime import datetime

from bot.conversations import Conversations
from bot.jobs import OpenCard
from bot.outbox import Tx
from bot.presenter import person_fields, standing_in_reason
from bot.store import customers as people
from bot.store.rows import change, key
from bot.tables import Conversation, Message
from bot.triage import Reply
from routing import Decision, Employee, RoutingConfig, RoutingRequest, Target, considered, route

# What `Conversation.asked_for` holds while the customer chooses; `offered` then holds
# the ids of their usual person and of the stand-in.
CHOOSING = "person"


class Handoff:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.metrics = conversations.metrics

    async def hand_off(
        self,
        tx: Tx,
        conversation: Conversation,
        trigger: Message,
        config: RoutingConfig,
        *,
        ask: bool = True,
    ) -> None:
        """Route the conversation and give it to the person chosen; or, when the rules
        chose a stand-in for the customer's usual person, ask the customer first."""
        connection, now = tx.connection, self.conversations.clock()
        customer, previous = await people.customer_and_previous(
            connection, conversation.customer_id
        )
        request = RoutingRequest(
            channel=conversation.channel,
            intent=conversation.intent or None,
            entities=frozenset(conversation.entities),
            language=customer.language,
            customer_tags=frozenset(customer.tags),
            previous_employee=previous,
        )
        roster = await self.conversations.roster(connection, considered(request, config))
        decision = route(request, roster, config, now)
        usual = decision.standing_in_for
        if ask and usual is not None and decision.available and config.triage.ask_to_wait:
            await self._ask(tx, conversation, decision, usual, config, now)
            return
        await self._give(tx, conversation, decision, trigger, previous)

    async def choose(
        self, tx: Tx, conversation: Conversation, answer: Message, config: RoutingConfig
    ) -> None:
        """The customer answered the question: wait for their usual person, or (any
        other answer) a person now."""
        offered = [config.employee(e) for e in conversation.offered if config.has_employee(e)]
        await change(tx.connection, conversation, asked_for=None, offered=[])
        now = self.conversations.clock()
        if len(offered) != 2 or not _waits(answer.body, offered[0], offered[1], config, now):
            await self.hand_off(tx, conversation, answer, config, ask=False)
            return
        usual = offered[0]
        decision = await self.conversations.reroute(
            tx, conversation, Target(employee=usual.id),
            why=f"The customer chose to wait for {usual.name}, who helped them before.",
        )  # fmt: skip
        await self._give(tx, conversation, decision, answer, usual.id)

    async def _ask(
        self,
        tx: Tx,
        conversation: Conversation,
        decision: Decision,
        usual: Employee,
        config: RoutingConfig,
        now: datetime,
    ) -> None:
        texts, because = config.triage.texts, decision.standing_in_because
        why = standing_in_reason(usual, because, now) if because else "is not available"
        first_name = usual.name.split()[0]
        stand_in = person_fields(decision.employee, None, now)
        text = texts.wait_or_now.format(
            previous=usual.name, previous_first_name=first_name, why=why, **stand_in
        )
        options = _options(usual, decision.employee, config, now)
        await change(tx.connection, conversation, asked_for=CHOOSING,
                     offered=[usual.id, decision.employee.id])  # fmt: skip
        await self.conversations.say(tx, conversation, Reply(text, options))

    async def _give(
        self,
        tx: Tx,
        conversation: Conversation,
        decision: Decision,
        trigger: Message,
        previous: str | None,
    ) -> None:
        assignment = await self.conversations.assign(tx, conversation, decision)
        await self.conversations.introduce(tx, conversation, decision, previous=previous)
        # The card shows the conversation up to this message; later ones follow it.
        await tx.enqueue(OpenCard(key(assignment), key(trigger)), conversation_id=conversation.id)
        rule = decision.rule.name if decision.rule else "fallback"
        self.metrics.routed.labels(rule, decision.availability).inc()


def _options(
    usual: Employee, stand_in: Employee, config: RoutingConfig, now: datetime
) -> tuple[str, str]:
    """The quick replies: wait for the usual person, talk to the stand-in now."""
    texts, first_name = config.triage.texts, usual.name.split()[0]
    return (
        texts.wait_option.format(previous_first_name=first_name),
        texts.now_option.format(**person_fields(stand_in, None, now)),
    )


def _waits(
    answer: str, usual: Employee, stand_in: Employee, config: RoutingConfig, now: datetime
) -> bool:
    """Whether an answer chooses to wait: the quick reply, or one naming only the usual
    person."""
    said = answer.strip().casefold()
    wait, talk = (option.casefold() for option in _options(usual, stand_in, config, now))
    if said in (wait, talk):
        return said == wait
    names = said.replace(",", " ").replace(".", " ").split()
    return usual.name.split()[0].casefold() in names and (
        stand_in.name.split()[0].casefold() not in names
    )
