"""The core's side of the employee desk: each card is built from the store and shown
by the desk, which answers where it put it; that thread is then the conversation's way
to the customer. Runs the desk's jobs (see jobs.py)."""

from __future__ import annotations

import contextlib

from bot.attachments import attached
from bot.conversations import Conversations
from bot.jobs import (
    AlertTeam,
    EraseFromDesk,
    MarkDelivered,
    OpenCard,
    PostInThread,
    PostNote,
    ShowRating,
    UpdateCard,
)
from bot.outbox import GiveUp, Record, RetryLater, Tx, Work
from bot.ratings import describe
from bot.roles import Attempt, Card, Earlier, EmployeeDesk, Line, Remembered, Spot
from bot.store import Connection, facts, ratings
from bot.store import conversations as stored
from bot.store import customers as people
from bot.store.messages import for_thread, message_in_conversation, transcript
from bot.store.privacy import desk_threads
from bot.store.rows import key
from bot.tables import Assignment, Conversation, Message, Thread

NOT_YET = "the conversation's card is not on the desk yet"


class DeskWork:
    def __init__(self, conversations: Conversations, desk: EmployeeDesk) -> None:
        self.conversations = conversations
        self.desk = desk
        self.store = conversations.store

    async def open_card(self, work: Work[OpenCard]) -> Record | None:
        job = work.job
        async with self.store.reading() as connection:
            if await stored.card_posted(connection, job.assignment_id):
                return None  # an earlier attempt posted it and recorded so
            assignment = await stored.assignment(connection, job.assignment_id)
            conversation = await stored.conversation(connection, assignment.conversation_id)
            assert conversation is not None
        card = await self._card(conversation, assignment, job.upto)
        spot = await self.desk.open_card(card, Attempt(work.id, work.attempt))

        async def record(tx: Tx) -> None:
            thread = Thread(
                conversation_id=key(conversation),
                assignment_id=job.assignment_id,
                place=spot.place,
                thread=spot.thread,
                created_at=self.conversations.clock(),
            )
            await stored.add_thread(tx.connection, thread)

        return record

    async def post_message(self, work: Work[PostInThread]) -> None:
        async with self.store.reading() as connection:
            message, customer, thread = await for_thread(connection, work.job.message_id)
        if thread is None:
            raise RetryLater(NOT_YET)
        spot, attempt = Spot(thread.place, thread.thread), Attempt(work.id, work.attempt)
        line = Line(people.display_name(customer), "customer", message.body, message.created_at,
                    message.details)  # fmt: skip
        if (file := await attached(self.conversations.channels, message)) is not None:
            with contextlib.suppress(GiveUp):  # the desk will not take it: the link instead
                await self.desk.upload(spot, line, file, attempt)
                return
        await self.desk.post(spot, line, attempt)

    async def post_note(self, work: Work[PostNote]) -> None:
        async with self.store.reading() as connection:
            conversation = await stored.conversation(connection, work.conversation_id or 0)
            assert conversation is not None
            at = work.job.at
            spot = Spot(*at) if at else await self._spot(connection, conversation)
        await self.desk.note(spot, work.job.text, Attempt(work.id, work.attempt))

    async def mark_delivered(self, work: Work[MarkDelivered]) -> None:
        """The customer's channel accepted an employee's reply: the desk marks it."""
        async with self.store.reading() as connection:
            message, _ = await message_in_conversation(connection, work.job.message_id)
        if message.source != "desk" or not message.source_id:
            return  # not written on the desk (or erased since, reference and all)
        await self.desk.react(message.source_id, "delivered", Attempt(work.id, work.attempt))

    async def show_rating(self, work: Work[ShowRating]) -> None:
        """The customer's rating, in the conversation's thread, under their name."""
        async with self.store.reading() as connection:
            rating, customer = await ratings.with_customer(connection, work.job.rating_id)
            conversation = await stored.conversation(connection, rating.conversation_id)
            assert conversation is not None
            spot = await self._spot(connection, conversation)
        name = people.display_name(customer)
        line = Line(name, "rating", describe(rating), rating.rated_at)
        await self.desk.post(spot, line, Attempt(work.id, work.attempt))

    async def alert_team(self, work: Work[AlertTeam]) -> None:
        """Where the team works together; a team without such a place (each in their own
        direct messages) is told in the conversation's thread instead."""
        config, attempt = self.conversations.config(), Attempt(work.id, work.attempt)
        team = config.team(work.job.team_id) if config.has_team(work.job.team_id) else None
        if team is not None and await self.desk.alert(team, work.job.text, attempt):
            return
        async with self.store.reading() as connection:
            conversation = await stored.conversation(connection, work.conversation_id or 0)
            assert conversation is not None
            spot = await self._spot(connection, conversation)
        await self.desk.note(spot, work.job.text, attempt)

    async def update_card(self, work: Work[UpdateCard]) -> None:
        """After a close, transfer or take-over, the card says so (a transfer's old card
        also says that its thread no longer reaches the customer)."""
        job = work.job
        async with self.store.reading() as connection:
            conversation = await stored.conversation(connection, work.conversation_id or 0)
            assert conversation is not None
            spot = Spot(*job.at) if job.at else await self._spot(connection, conversation)
            assignment = await stored.latest_assignment(connection, key(conversation))
            assert assignment is not None
        status, note = None, None
        to = self.conversations.person(job.to).name
        if job.change == "closed":
            status = f"Closed by {await self._name(job.by)}. A reply in this thread reopens it."
        elif job.change == "transferred":
            status = f"Transferred to {to} by {await self._name(job.by)}."
            note = f"{status} Messages in this thread no longer reach the customer."
        elif job.change == "escalated":
            status = f"Handed over to {to}: the customer had no first reply in time."
            note = f"{status} Messages in this thread no longer reach the customer."
        else:
            note = f"{to} took this conversation over: only {to}'s replies reach the customer now."
        card = await self._card(conversation, assignment, None, status)
        await self.desk.update_card(spot, card, note, Attempt(work.id, work.attempt))

    async def erase(self, work: Work[EraseFromDesk]) -> None:
        """The conversation's customer was erased: so is what the app posted in each of
        its threads (a retry starts again; the desk skips what it replaced before)."""
        async with self.store.reading() as connection:
            spots = [
                Spot(t.place, t.thread)
                for t in await desk_threads(connection, work.conversation_id or 0)
            ]
        for spot in spots:
            await self.desk.erase_thread(spot)

    async def _spot(self, connection: Connection, conversation: Conversation) -> Spot:
        if conversation.thread_id is None:
            raise RetryLater(NOT_YET)
        thread = await stored.thread(connection, conversation.thread_id)
        return Spot(thread.place, thread.thread)

    async def _name(self, who: str | None) -> str:
        """An employee's name, or the desk's name for someone not in the config."""
        config = self.conversations.config()
        if who is not None and config.has_employee(who):
            return config.employee(who).name
        return await self.desk.name_of(who or "")

    async def _card(
        self,
        conversation: Conversation,
        assignment: Assignment,
        upto: int | None,
        status: str | None = None,
    ) -> Card:
        config = self.conversations.config()
        async with self.store.reading() as connection:
            customer = await people.customer(connection, conversation.customer_id)
            said = await transcript(connection, key(conversation))
            before = await stored.earlier(connection, customer.id or 0, key(conversation))
            known = await facts.remembered(connection, key(customer))
        shown = [m for m in said if upto is None or m.author != "customer" or key(m) <= upto]
        names = {"customer": people.display_name(customer), "system": people.display_name(customer),
                 "bot": config.company.bot_name}  # fmt: skip
        return Card(
            conversation_id=key(conversation),
            customer=people.display_name(customer),
            verified=customer.verified,
            email=customer.email,
            channel=self.conversations.channels.title(conversation.channel),
            language=customer.language,
            tags=customer.tags,
            intent=conversation.intent,
            confidence=conversation.confidence,
            entities=conversation.entities,
            rule=assignment.rule,
            reasons=assignment.reasons,
            employee=config.employee(assignment.employee_id),
            team=config.team(assignment.team_id) if assignment.team_id else None,
            transcript=[
                Line(
                    names.get(m.author) or await self._author(m),
                    m.author,
                    m.body,
                    m.created_at,
                    m.details,
                )
                for m in shown
            ],
            earlier=[
                Earlier(c.created_at, c.intent, self._employee(c.employee_id), c.status, count)
                for c, count in before
            ],
            status=status,
            remembered=[
                Remembered(f.text, self._employee(f.employee_id) or "a colleague", f.created_at)
                for f in known
            ],
        )

    async def _author(self, message: Message) -> str:
        if message.employee_id:
            return self.conversations.person(message.employee_id).name
        return await self.desk.name_of(str(message.details.get("desk_user", "")))

    def _employee(self, employee_id: str | None) -> str | None:
        return self.conversations.person(employee_id).name if employee_id else None
