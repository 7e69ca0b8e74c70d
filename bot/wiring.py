"""Which part of the core runs each job, registered with the outbox in one place: the
app (bot/app.py) and the in-memory harness (tests/fakes/harness.py) both wire through
here, so that a new job is handled the same way in both."""

from __future__ import annotations

from dataclasses import dataclass

from bot.customers import Customers
from bot.delivery import Delivery
from bot.desk import DeskWork
from bot.escalation import Escalation
from bot.jobs import (
    AlertTeam,
    Deliver,
    EraseFromDesk,
    Escalate,
    ExpireMessages,
    HandleInbound,
    MarkDelivered,
    OpenCard,
    PostInThread,
    PostNote,
    Remind,
    ShowRating,
    Triage,
    UpdateCard,
)
from bot.outbox import Outbox
from bot.privacy import Privacy
from bot.roles import EmployeeDesk, FileSource


@dataclass(frozen=True)
class CoreWork:
    """The core's own job handlers, for callers that reach them directly."""

    delivery: Delivery
    privacy: Privacy
    escalation: Escalation


def handle_core_jobs(outbox: Outbox, customers: Customers) -> CoreWork:
    """The jobs that need no desk: triage, inbound updates, delivery to customers,
    retention, reminders and escalations."""
    conversations = customers.conversations
    work = CoreWork(Delivery(conversations), Privacy(conversations), Escalation(conversations))
    outbox.handle(Triage, customers.triage)
    outbox.handle(HandleInbound, customers.handle_inbound)
    outbox.handle(Deliver, work.delivery.deliver)
    outbox.handle(ExpireMessages, work.privacy.expire)
    outbox.handle(Remind, work.escalation.remind)
    outbox.handle(Escalate, work.escalation.escalate)
    return work


def handle_desk_jobs(
    outbox: Outbox, core: CoreWork, desk: EmployeeDesk, files: FileSource
) -> DeskWork:
    """The jobs that reach the employees' desk, once one is connected; `files` is where
    the desk keeps the files employees share (the desk itself, as a rule)."""
    conversations = core.delivery.conversations
    work = DeskWork(conversations, desk)
    conversations.desk = desk  # whom the desk shows away, when config.yml asks
    core.delivery.desk_files = files
    outbox.handle(OpenCard, work.open_card)
    outbox.handle(PostInThread, work.post_message)
    outbox.handle(PostNote, work.post_note)
    outbox.handle(UpdateCard, work.update_card)
    outbox.handle(EraseFromDesk, work.erase)
    outbox.handle(AlertTeam, work.alert_team)
    outbox.handle(MarkDelivered, work.mark_delivered)
    outbox.handle(ShowRating, work.show_rating)
    return work
