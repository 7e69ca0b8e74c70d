"""The roles the conversation core talks to, and the values it hands them. A customer
channel (the widget, a messenger, e-mail) reaches customers; an employee desk (a chat
tool) shows conversations to employees. The core names no vendor: each adapter
implements these roles and registers with `Channels` (or as the desk)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.outbox import GiveUp
from routing import Employee, Team


@dataclass(frozen=True)
class Person:
    """Someone who answers customers, as customers see them."""

    name: str
    title: str | None = None
    team: str | None = None
    photo_url: str | None = None
    hours: str | None = None  # when they usually work, in words
    # How fast they usually reply ("about 10 minutes"), when the introduction said so.
    replies_within: str | None = None

    @property
    def usually(self) -> str | None:
        """When to expect them, as the person's card says it: how fast they usually
        reply when known, else their hours."""
        if self.replies_within:
            return f"Usually replies within {self.replies_within}"
        return f"Usually answers {self.hours}" if self.hours else None


@dataclass(frozen=True)
class Outgoing:
    """A message for a customer: from the bot (`author` None) or a person."""

    text: str
    author: Person | None = None
    introduces: Person | None = None  # the person this message puts them in touch with
    quick_replies: tuple[str, ...] = ()
    # The message asks the customer to rate the conversation; their answer names this
    # message id (see ratings.Ratings.rate).
    rating: int | None = None
    files: tuple[FileContent, ...] = ()  # sent after the text


class Undeliverable(GiveUp):
    """The customer cannot be reached on this channel any more (they blocked us)."""


Progress = Callable[[int], Awaitable[None]]  # how many parts of a message are out


class CustomerChannel(Protocol):
    """A way customers write to us."""

    name: str  # stored with contacts and conversations: "web"
    title: str  # how employees read it: "the web chat"


class Inviter(Protocol):
    """A channel customers can continue on from another one, with a link code."""

    def invitation(self, code: str) -> str:
        """A link that opens this channel carrying `code`."""


class Sender(Protocol):
    """A channel that sends each message to the customer (the widget instead reads
    what is stored). Raises RetryLater, GiveUp or Undeliverable."""

    async def deliver(self, address: str, message: Outgoing, sent: int, progress: Progress) -> None:
        """Send `message` to `address`, skipping the `sent` parts an earlier attempt
        got out, and reporting to `progress` how many are out while more remain."""


@dataclass(frozen=True)
class FileContent:
    """A file's bytes, with the name and media type to show it by."""

    name: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class SharedFile:
    """A file someone shared, as the message that carried it keeps it: `reference` is
    where it is kept (the desk's id for it), to fetch it by when it is needed."""

    reference: str
    name: str
    media_type: str
    size: int


class FileSource(Protocol):
    """Where files people sent are kept (a channel, the desk): fetched by the reference
    stored with their message. Raises RetryLater, or GiveUp for a file it cannot give."""

    async def fetch_file(self, reference: str) -> FileContent: ...


class Reader(Protocol):
    """A channel whose raw updates are stored first (the inbox) and acted on after."""

    async def handle_inbound(self, payload: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Line:
    """One message in a card's transcript."""

    author: str  # a display name
    kind: str  # customer, bot, employee, note, system, rating
    text: str
    at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Earlier:
    """One of the customer's earlier conversations."""

    started: datetime
    intent: str | None
    employee: str | None
    status: str
    messages: int


@dataclass(frozen=True)
class Remembered:
    """A fact an employee asked to be remembered about the customer (`remember:`)."""

    text: str
    by: str  # who asked, by name
    at: datetime


@dataclass(frozen=True)
class Card:
    """What an employee needs to take a conversation on: who, what, why them, and the
    conversation so far."""

    conversation_id: int
    customer: str
    channel: str  # the channel's title
    language: str | None
    tags: Sequence[str]
    intent: str | None
    confidence: float | None
    entities: Mapping[str, str]
    rule: str | None
    reasons: Sequence[str]
    employee: Employee  # who has it
    team: Team | None  # the team it was routed within; None when a person was named
    transcript: Sequence[Line]
    earlier: Sequence[Earlier]
    status: str | None = None  # "Closed by ...": the conversation's state, when not open
    verified: bool = False  # the company's site vouched for who the customer is
    email: str | None = None  # as the site gave it, for a verified customer
    remembered: Sequence[Remembered] = ()  # numbered from 1 on the card, for `forget:`


@dataclass(frozen=True)
class Spot:
    """Where a conversation's card is on the desk: a place (a channel, a direct
    message) and the thread under the card."""

    place: str
    thread: str


@dataclass(frozen=True)
class Attempt:
    """Which job is posting and its attempt: a desk marks posts with the job, so that
    a post whose answer was lost is found on the next attempt, not repeated."""

    job: int
    number: int


ERASED_POST = "erased"  # what the desk shows instead of what an erased customer's card said
Reaction = Literal["delivered"]  # what the desk can mark an employee's message with


class EmployeeDesk(Protocol):
    """Where employees see and answer conversations. Raises RetryLater or GiveUp."""

    async def open_card(self, card: Card, attempt: Attempt) -> Spot: ...

    async def post(self, spot: Spot, line: Line, attempt: Attempt) -> None:
        """A customer's message, after the card, in the thread."""

    async def upload(self, spot: Spot, line: Line, file: FileContent, attempt: Attempt) -> None:
        """A customer's message with the file it carried, shown in the thread (GiveUp
        if the desk will not take the file: it is then posted with a link instead)."""

    async def note(self, spot: Spot, text: str, attempt: Attempt) -> None:
        """A note from Frontdesk for the employee, in the thread."""

    async def alert(self, team: Team, text: str, attempt: Attempt) -> bool:
        """Say `text` where the team works together; False if it has no such place."""

    async def update_card(self, spot: Spot, card: Card, note: str | None, attempt: Attempt) -> None:
        """Show the card as it is now, and say `note` in its thread."""

    async def react(self, reference: str, reaction: Reaction, attempt: Attempt) -> None:
        """Mark an employee's message, by the desk's reference to it (the `source_id` it
        was stored with), for example as delivered to the customer. Marking it again
        is no error."""

    async def erase_thread(self, spot: Spot) -> int:
        """Replace everything this app posted in the thread, the card included, with
        ERASED_POST (files it uploaded there are deleted, comment and all); what is
        replaced already is left, so a retry resumes. Returns how many posts it replaced
        or deleted now."""

    async def name_of(self, desk_user: str) -> str:
        """The name of someone on the desk who is not in the config."""

    async def presence(self, employee_ids: Collection[str]) -> dict[str, str]:
        """Those of these employees the desk shows as not there now, with why in words
        (for example "away in <the desk's name>"); anyone it shows there, or cannot tell
        about, is left out. Answers from a cache when it can; never raises."""


class Channels:
    """The customer channels this app has, by name."""

    def __init__(self) -> None:
        self._channels: dict[str, CustomerChannel] = {}
        self._senders: dict[str, Sender] = {}
        self._readers: dict[str, Reader] = {}
        self._inviters: dict[str, Inviter] = {}
        self._files: dict[str, FileSource] = {}

    def add(
        self,
        channel: CustomerChannel,
        *,
        sender: Sender | None = None,
        reader: Reader | None = None,
        inviter: Inviter | None = None,
        files: FileSource | None = None,
    ) -> None:
        """Register a channel and the optional roles it plays."""
        if files is not None:
            self._files[channel.name] = files
        self._channels[channel.name] = channel
        if sender is not None:
            self._senders[channel.name] = sender
        if reader is not None:
            self._readers[channel.name] = reader
        if inviter is not None:
            self._inviters[channel.name] = inviter

    def title(self, name: str) -> str:
        channel = self._channels.get(name)
        return channel.title if channel else name

    def sender(self, name: str) -> Sender | None:
        return self._senders.get(name)

    def reader(self, name: str) -> Reader | None:
        return self._readers.get(name)

    def files(self, name: str) -> FileSource | None:
        return self._files.get(name)

    def inviting(self) -> list[str]:
        """The channels customers can be invited to continue on."""
        return list(self._inviters)

    def invitation(self, name: str, code: str) -> str:
        return self._inviters[name].invitation(code)
