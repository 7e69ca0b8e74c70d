"""What happens when an employee acts on a conversation from their desk: a reply (only
the assigned employee's reaches the customer), a note, a fact to remember about the
customer (bot/facts.py), close, transfer, take over.
Employees are named by their Frontdesk id; `by` is that id, or the desk's own id for
someone who is not in the config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from bot.attachments import admit
from bot.conversations import Conversations
from bot.facts import act, asked
from bot.jobs import OpenCard, PostNote, UpdateCard
from bot.outbox import Tx
from bot.ratings import closing
from bot.roles import SharedFile
from bot.store import conversations as stored
from bot.store.messages import add_once
from bot.store.rows import change, key
from bot.suggestions import fitted, suggest
from bot.tables import Assignment, Conversation, Message
from routing import Decision, Target

Written = Literal["delivered", "internal", "duplicate", "unknown"]
NOTE = "note:"


class Employees:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.metrics = conversations.metrics

    async def write(
        self,
        conversation_id: int,
        by: str,
        text: str,
        source_id: str,
        files: Sequence[SharedFile] = (),
    ) -> Written:
        """Someone wrote in a conversation's thread. Only the assigned employee's words
        reach the customer, with the files config.yml allows (a note says why any other
        did not); `note:`, `remember:`, `forget:` and colleagues' messages stay internal
        (the last two are answered in the thread)."""
        config = self.conversations.config()
        employee = by if config.has_employee(by) else None
        async with self.conversations.transaction() as tx:
            found = await stored.with_current_assignment(tx.connection, conversation_id)
            if found is None:
                return "unknown"
            conversation, current = found
            is_note = text.lstrip().lower().startswith(NOTE)
            fact = asked(text)
            delivered = (
                employee is not None
                and employee == conversation.employee_id
                and not is_note
                and fact is None
            )
            admitted, refused = admit(files, config.files) if delivered else ([], [])
            delivered = delivered and bool(text.strip() or admitted)  # else nothing to send
            details: dict[str, Any] = {"files": admitted} if admitted else {}
            message = Message(
                conversation_id=conversation_id,
                author="employee" if delivered else "note",
                employee_id=employee,
                body=text.lstrip()[len(NOTE) :].strip() if is_note else text,
                details=details if employee else {"desk_user": by},
                source="desk",
                source_id=source_id,
                created_at=self.conversations.clock(),
            )
            if not await add_once(tx.connection, message):  # a retried event
                self.metrics.duplicates.labels("desk").inc()
                return "duplicate"
            if refused:
                note = "Not sent to the customer: " + "; ".join(refused)
                await tx.enqueue(PostNote(note), conversation_id=conversation_id)
            if fact is not None:
                now = self.conversations.clock()
                said = await act(tx.connection, conversation.customer_id, fact, employee, now)
                await tx.enqueue(PostNote(said), conversation_id=conversation_id)
            if delivered:
                await self._replied(tx, conversation, current)
                await self.conversations.deliver(tx, conversation, message)
        self.metrics.employee_messages.labels("reply" if delivered else "internal").inc()
        return "delivered" if delivered else "internal"

    async def close(self, conversation_id: int, by: str) -> bool:
        config = self.conversations.config()
        async with self.conversations.transaction() as tx:
            conversation = await stored.conversation(tx.connection, conversation_id)
            if conversation is None or conversation.status == "closed":
                return False
            now = self.conversations.clock()
            await change(tx.connection, conversation, status="closed", closed_at=now)
            await stored.end_assignments(tx.connection, conversation_id, now)
            closer = by if config.has_employee(by) else conversation.employee_id
            name = self.conversations.person(closer).name
            closed = config.triage.texts.closed.format(name=name)
            await closing(self.conversations, tx, conversation, closed)  # asks for a rating
            await tx.enqueue(UpdateCard("closed", by=by), conversation_id=conversation_id)
        return True

    async def transfer(
        self, conversation_id: int, by: str, target: Target, intent: str | None = None
    ) -> Decision | None:
        """Hand the conversation to another team or person: a new card on their desk;
        the old card says so, and its thread no longer reaches the customer. The
        customer's first message is suggested as a training example of the intent that
        fitted (`intent`, picked among the several the rules send to the target; else
        the only one they send there: bot/suggestions.py)."""
        config = self.conversations.config()
        async with self.conversations.transaction() as tx:
            conversation = await stored.conversation(tx.connection, conversation_id)
            if conversation is None or conversation.status == "closed":
                return None
            previous = conversation.employee_id
            who = config.employee(by).name if config.has_employee(by) else "A colleague"
            decision = await self.conversations.reroute(
                tx, conversation, target,
                why=f"{who} transferred the conversation ({target.describe()}).",
                exclude=frozenset({previous} if previous else ()),
            )  # fmt: skip
            old = conversation.thread_id
            assignment = await self.conversations.assign(tx, conversation, decision)
            if (fits := fitted(config, target, intent)) is not None:
                now, threshold = self.conversations.clock(), config.triage.min_confidence
                await suggest(tx.connection, conversation, fits, by, now, threshold)
            await change(tx.connection, conversation, thread_id=None)  # until the new card
            handed_over_by = self.conversations.person(previous).name
            await self.conversations.introduce(
                tx, conversation, decision, handed_over_by=handed_over_by
            )
            at = None
            if old is not None:
                spot = await stored.thread(tx.connection, old)
                at = (spot.place, spot.thread)
            update = UpdateCard("transferred", by=by, to=decision.employee.id, at=at)
            await tx.enqueue(update, conversation_id=conversation_id)
            await tx.enqueue(OpenCard(key(assignment), None), conversation_id=conversation_id)
        return decision

    async def take_over(self, conversation_id: int, employee_id: str) -> bool:
        """A colleague takes the conversation over, in the same thread."""
        config = self.conversations.config()
        if not config.has_employee(employee_id):
            return False
        async with self.conversations.transaction() as tx:
            conversation = await stored.conversation(tx.connection, conversation_id)
            if (
                conversation is None
                or conversation.status == "closed"
                or conversation.employee_id == employee_id
            ):
                return False
            previous = conversation.employee_id
            employee = config.employee(employee_id)
            decision = await self.conversations.reroute(
                tx, conversation, Target(employee=employee_id),
                why=f"{employee.name} took the conversation over.",
            )  # fmt: skip
            await self.conversations.assign(tx, conversation, decision, status="open")
            handed_over_by = self.conversations.person(previous).name
            await self.conversations.introduce(
                tx, conversation, decision, handed_over_by=handed_over_by
            )
            await tx.enqueue(
                UpdateCard("taken_over", to=employee_id), conversation_id=conversation_id
            )
        return True

    async def set_away(self, employee_id: str, away: bool) -> None:
        """An employee marks themselves away (no new conversations) or back, from their
        desk: the flag an admin sets with the admin API."""
        async with self.conversations.transaction() as tx:
            now = self.conversations.clock()
            await stored.set_away(tx.connection, employee_id, away, now)

    async def _replied(
        self, tx: Tx, conversation: Conversation, current: Assignment | None
    ) -> None:
        """The assigned employee answered: the conversation is open again if it was
        closed, and the first reply's time (of the `current` assignment) is recorded."""
        now = self.conversations.clock()
        if conversation.status != "open" or conversation.closed_at is not None:
            await change(tx.connection, conversation, status="open", closed_at=None)
        hours = self.conversations.config().employee(conversation.employee_id or "").hours
        waited = await stored.first_reply(tx.connection, current, now, hours)
        if waited is not None:
            self.metrics.first_response.observe(waited)
