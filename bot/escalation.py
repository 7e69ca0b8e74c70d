"""No customer left waiting: when an assignee has not replied within a share of
`first_reply_within` (working time) they are reminded in their thread; when all of it
has passed, the next available person of the team takes the conversation over, or the
team is alerted when nobody can. Runs the timer jobs that `Conversations.assign` queues;
each checks again when it runs, so a reply, a close or changed hours make it moot."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.conversations import Conversations, escalation_team, reply_due
from bot.jobs import AlertTeam, Escalate, OpenCard, PostNote, Remind, UpdateCard
from bot.outbox import Record, Tx, Work
from bot.presenter import when
from bot.store import Connection
from bot.store import conversations as stored
from bot.store import customers as people
from bot.store.rows import change, key
from bot.tables import Assignment, Conversation
from routing import RoutingConfig, Target


class Escalation:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.store = conversations.store
        self.metrics = conversations.metrics

    async def remind(self, work: Work[Remind]) -> Record | None:
        """A note in the assignee's thread: who is waiting, and until when."""
        async with self.store.reading() as connection:
            waiting = await _waiting(connection, work.job.assignment_id)
            customer = (
                await people.customer(connection, waiting[1].customer_id) if waiting else None
            )
            posted = waiting[1].thread_id if waiting else None
            thread = await stored.thread(connection, posted) if posted else None
        config, now = self.conversations.config(), self.conversations.clock()
        due = reply_due(config, waiting[0]) if waiting else None
        if waiting is None or customer is None or due is None:
            return None
        assignment, conversation = waiting
        if due[0] > now:  # the hours changed since: not yet
            return _again(work.job, conversation, due[0])
        employee = config.employee(assignment.employee_id)
        team = config.team(escalation_team(config, assignment)).name
        text = (
            f"Reminder: {people.display_name(customer)} is waiting for your first reply. "
            f"Unless you reply here by {when(employee, due[1], now)}, the conversation "
            f"goes to someone else in {team}."
        )

        async def record(tx: Tx) -> None:
            # In this assignee's thread, also if the conversation moved on before it runs.
            at = (thread.place, thread.thread) if thread else None
            await tx.enqueue(PostNote(text, at), conversation_id=conversation.id)

        return record

    async def escalate(self, work: Work[Escalate]) -> Record | None:
        """The next available person of the team takes the conversation over; nobody
        available: the team is alerted and the conversation stays. Decided in the
        transaction that completes the job, so it happens once, and not at all if a
        reply committed first."""
        async with self.store.reading() as connection:
            waiting = await _waiting(connection, work.job.assignment_id)
        config, now = self.conversations.config(), self.conversations.clock()
        due = reply_due(config, waiting[0]) if waiting else None
        if waiting is None or due is None:
            return None
        if due[1] > now:
            return _again(work.job, waiting[1], due[1])

        async def record(tx: Tx) -> None:
            still = await _waiting(tx.connection, work.job.assignment_id)
            if still is not None:
                await self._move_on(tx, config, *still)

        return record

    async def _move_on(
        self, tx: Tx, config: RoutingConfig, assignment: Assignment, conversation: Conversation
    ) -> None:
        team_id = escalation_team(config, assignment)
        wait = config.first_reply_within(team_id)
        if wait is None or not config.has_team(team_id):
            return  # the config changed since
        previous, limit = config.employee(assignment.employee_id), _span(wait)
        passed = await stored.unanswered_by(tx.connection, key(conversation))
        decision = await self.conversations.reroute(
            tx, conversation, Target(team=team_id),
            why=f"{previous.name} had not replied within {limit} of working time.",
            exclude=frozenset(passed | {previous.id}),
        )  # fmt: skip
        if decision.employee.id in passed or not decision.available:
            customer = await people.customer(tx.connection, conversation.customer_id)
            team = config.team(team_id)
            text = (
                f"{people.display_name(customer)} has had no reply from {previous.name} "
                f"within {limit} of working time, and nobody else in {team.name} is "
                f"available: it stays with {previous.name}."
            )
            await tx.enqueue(AlertTeam(team_id, text), conversation_id=conversation.id)
            self.metrics.escalations.labels("alerted").inc()
            return
        old = conversation.thread_id
        fresh = await self.conversations.assign(tx, conversation, decision)
        await change(tx.connection, conversation, thread_id=None)  # until the new card
        await self.conversations.introduce(tx, conversation, decision, escalated_from=previous.name)
        if old is not None:  # the first person's card says who has it now
            spot = await stored.thread(tx.connection, old)
            update = UpdateCard("escalated", to=decision.employee.id, at=(spot.place, spot.thread))
            await tx.enqueue(update, conversation_id=conversation.id)
        await tx.enqueue(OpenCard(key(fresh), None), conversation_id=conversation.id)
        self.metrics.escalations.labels("moved").inc()


async def _waiting(
    connection: Connection, assignment_id: int
) -> tuple[Assignment, Conversation] | None:
    """The assignment and its conversation, if that is still waiting for the assignee's
    first reply (not replied to, reassigned or closed since)."""
    assignment = await stored.assignment(connection, assignment_id)
    if assignment.ended_at is not None or assignment.first_reply_at is not None:
        return None
    conversation = await stored.conversation(connection, assignment.conversation_id)
    if conversation is None or conversation.status == "closed":
        return None
    if conversation.employee_id != assignment.employee_id:
        return None
    return assignment, conversation


def _span(duration: timedelta) -> str:
    """`15 minutes`, `1 hour`, `1 hour 30 minutes`, `45 seconds`."""
    hours, rest = divmod(int(duration.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (seconds, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)


def _again(job: Remind | Escalate, conversation: Conversation, due: datetime) -> Record:
    """The same timer, later (the hours or holidays changed since it was set)."""

    async def record(tx: Tx) -> None:
        await tx.enqueue(job, conversation_id=conversation.id, lane=None, run_after=due)

    return record
