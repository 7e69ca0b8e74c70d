"""The work the outbox does after a commit, as typed values. Each job's docstring names
the method that runs it; `encode` and `decode` turn jobs into stored rows and back,
including the rows earlier versions wrote."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from bot import legacy

Change = Literal["closed", "transferred", "taken_over", "escalated"]


@dataclass(frozen=True)
class Triage:
    """Classify a customer's message, answer it, maybe hand off: `Customers.triage`."""

    message_id: int


@dataclass(frozen=True)
class OpenCard:
    """Show a newly assigned conversation on the employee's desk: `DeskWork.open_card`.
    The card's transcript ends at customer message `upto` (None: all of them); later
    messages follow as thread posts."""

    assignment_id: int
    upto: int | None


@dataclass(frozen=True)
class PostInThread:
    """A customer's message, after the card, into the thread: `DeskWork.post_message`."""

    message_id: int


@dataclass(frozen=True)
class PostNote:
    """A note for the employee in the conversation's thread: `DeskWork.post_note`. `at`
    is the (place, thread) it belongs in when the conversation may have moved on by the
    time it runs (a reminder for whoever had it then)."""

    text: str
    at: tuple[str, str] | None = None


@dataclass(frozen=True)
class UpdateCard:
    """After a close, transfer or take-over, the card says so: `DeskWork.update_card`.
    `by` is an employee id, or the desk's id for someone who is not one; `at` is the
    card's (place, thread) when it is not the conversation's current one."""

    change: Change
    by: str | None = None
    to: str | None = None  # the employee who has the conversation now
    at: tuple[str, str] | None = None


@dataclass(frozen=True)
class Deliver:
    """A message the customer should see, to the channel they wrote on: `Delivery.deliver`."""

    message_id: int


@dataclass(frozen=True)
class MarkDelivered:
    """The customer's channel accepted an employee's reply: the desk marks the
    employee's message delivered: `DeskWork.mark_delivered`."""

    message_id: int


@dataclass(frozen=True)
class ShowRating:
    """The customer rated the conversation: the rating in its thread: `DeskWork.show_rating`."""

    rating_id: int


@dataclass(frozen=True)
class Remind:
    """A share of `first_reply_within` has passed since an assignment without a reply:
    a reminder in the assignee's thread: `Escalation.remind`."""

    assignment_id: int


@dataclass(frozen=True)
class Escalate:
    """`first_reply_within` has passed since an assignment without a reply: the next
    available person of the team takes the conversation, or the team is alerted:
    `Escalation.escalate`."""

    assignment_id: int


@dataclass(frozen=True)
class AlertTeam:
    """Tell a team where it works together (or, without such a place, the conversation's
    thread): `DeskWork.alert_team`."""

    team_id: str
    text: str


@dataclass(frozen=True)
class HandleInbound:
    """A stored update from a channel, to act on: that channel's `handle_inbound`."""

    channel: str
    key: str


@dataclass(frozen=True)
class EraseFromDesk:
    """After the conversation's customer was erased, what the app posted in each of its
    desk threads (the card, the thread posts) is replaced: `DeskWork.erase`."""


@dataclass(frozen=True)
class ExpireMessages:
    """Once a day: erase the message bodies older than config.yml's `retention`, and
    come back tomorrow: `Privacy.expire`."""


Job = (
    Triage | OpenCard | PostInThread | PostNote | UpdateCard | Deliver | HandleInbound
    | EraseFromDesk | ExpireMessages | Remind | Escalate | AlertTeam | MarkDelivered | ShowRating
)  # fmt: skip

KINDS: dict[str, type[Job]] = {
    "triage": Triage,
    "card.open": OpenCard,
    "thread.post": PostInThread,
    "thread.note": PostNote,
    "card.update": UpdateCard,
    "customer.deliver": Deliver,
    "inbound.handle": HandleInbound,
    "desk.erase": EraseFromDesk,
    "retention.expire": ExpireMessages,
    "reply.remind": Remind,
    "reply.escalate": Escalate,
    "team.alert": AlertTeam,
    "desk.receipt": MarkDelivered,
    "desk.rating": ShowRating,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}


def inbound_lane(channel: str, address: str) -> str:
    """The lane of the updates one address sends on a channel (handled in order), by
    which erasing the customer there finds their jobs."""
    return f"inbound:{channel}:{address}"


class UnknownJob(ValueError):
    """A stored row that no job type reads."""


def kind_of(job: Job | type) -> str:
    return _KIND_OF[job if isinstance(job, type) else type(job)]


def encode(job: Job) -> tuple[str, dict[str, Any]]:
    return kind_of(job), asdict(job)


def decode(kind: str, payload: dict[str, Any]) -> Job:
    """A stored row as a job; raises UnknownJob for rows nothing can run."""
    try:
        kind, payload = legacy.translate(kind, payload)
        if kind not in KINDS:
            raise UnknownJob(f"no job is called {kind!r}")
        if isinstance(payload.get("at"), list):  # JSON has no tuples
            payload = {**payload, "at": tuple(payload["at"])}
        return KINDS[kind](**payload)
    except (TypeError, KeyError, ValueError) as exc:
        raise UnknownJob(f"cannot read a {kind!r} job: {exc}") from exc
