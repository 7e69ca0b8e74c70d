"""The whole conversation core in memory: a temporary SQLite file, a fake desk and a
fake customer channel that record what they are given, classification as a lookup,
and a clock the test moves. No port, no Rasa.

    async with Harness(tmp_path) as desk:
        ada = desk.customer("ada")
        await ada.says("I was charged twice")
        assert "will answer you here" in ada.saw[-1]
        await desk.employee("priya").replies(ada, "Refunded!")
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.conversations import Conversations
from bot.customers import Customers
from bot.employees import Employees
from bot.metrics import Metrics
from bot.news import News
from bot.outbox import GiveUp, Outbox, RetryLater
from bot.ratings import Ratings
from bot.roles import (
    Attempt,
    Card,
    Channels,
    FileContent,
    Line,
    Outgoing,
    Progress,
    Reaction,
    SharedFile,
    Spot,
    Undeliverable,
)
from bot.store import Store
from bot.wiring import handle_core_jobs, handle_desk_jobs
from nlu import Classification, Entity, IntentScore, NluUnavailable
from nlu.training import RasaProject
from routing import RoutingConfig, Team, parse_config
from tests.fakes.frontdesk import always_open_text

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, mid-morning in Europe


def config_from(text: str) -> RoutingConfig:
    project = RasaProject()
    return parse_config(text, "config.yml", intents=project.intents(), entities=project.entities())


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def understood(intent: str, confidence: float = 0.95, **entities: str) -> Classification:
    found = tuple(Entity(name, value, 0, len(value)) for name, value in entities.items())
    return Classification(intent, confidence, found, (IntentScore(intent, confidence),))


# What the NLU makes of each text the tests send (anything else: out of scope, unsure).
MEANINGS: dict[str, Classification] = {
    "hi": understood("greet"),
    "I was charged twice for my subscription this month": understood("billing"),
    "I have another question about a payment on my invoice": understood("billing"),
    "where is my order 12345": understood("order_status", order_id="12345"),
    "where is my order": understood("order_status"),
    "it is 98765": understood("out_of_scope", 0.3, order_id="98765"),
    "the app keeps crashing every time I open my basket": understood("technical_support"),
    "can I talk to a person": understood("human_handoff"),
}


class Lookup:
    """Classification as a table; `down` makes it fail as a dead NLU server does."""

    def __init__(self, meanings: Mapping[str, Classification]) -> None:
        self.meanings = dict(meanings)
        self.down = False
        self.asked: list[str] = []

    async def __call__(self, text: str) -> Classification:
        self.asked.append(text)
        if self.down:
            raise NluUnavailable("the NLU is down (test)")
        return self.meanings.get(text, understood("out_of_scope", 0.2))


@dataclass
class FakeDesk:
    """An employee desk that records cards, posts and notes; each card is a thread."""

    cards: list[tuple[Spot, Card]] = field(default_factory=list)
    posts: list[tuple[Spot, Line]] = field(default_factory=list)
    notes: list[tuple[Spot, str]] = field(default_factory=list)
    updates: list[tuple[Spot, Card, str | None]] = field(default_factory=list)
    erased: list[Spot] = field(default_factory=list)  # threads whose posts were replaced
    uploads: list[tuple[Spot, Line, FileContent]] = field(default_factory=list)
    files: dict[str, FileContent] = field(default_factory=dict)  # employees' files, by id
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (team, text) in its channel
    reactions: list[tuple[str, Reaction]] = field(default_factory=list)  # (message, reaction)
    absent: dict[str, str] = field(default_factory=dict)  # who it shows as not there, and why
    failing: list[Exception] = field(default_factory=list)  # raised by the next calls
    _threads: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _fail(self) -> None:
        if self.failing:
            raise self.failing.pop(0)

    async def open_card(self, card: Card, attempt: Attempt) -> Spot:
        self._fail()
        place = card.team.id if card.team and card.team.slack_channel else f"dm-{card.employee.id}"
        spot = Spot(place, f"t{next(self._threads)}")
        self.cards.append((spot, card))
        return spot

    async def post(self, spot: Spot, line: Line, attempt: Attempt) -> None:
        self._fail()
        self.posts.append((spot, line))

    async def upload(self, spot: Spot, line: Line, file: FileContent, attempt: Attempt) -> None:
        self._fail()
        self.uploads.append((spot, line, file))

    async def fetch_file(self, reference: str) -> FileContent:
        if reference not in self.files:
            raise GiveUp(f"file {reference} was deleted")
        return self.files[reference]

    def share(self, name: str, data: bytes, media_type: str) -> SharedFile:
        """An employee shares a file on the desk: what the message will carry."""
        reference = f"F{len(self.files) + 1}"
        self.files[reference] = FileContent(name, media_type, data)
        return SharedFile(reference, name, media_type, len(data))

    async def note(self, spot: Spot, text: str, attempt: Attempt) -> None:
        self._fail()
        self.notes.append((spot, text))

    async def update_card(self, spot: Spot, card: Card, note: str | None, attempt: Attempt) -> None:
        self._fail()
        self.updates.append((spot, card, note))
        if note:
            self.notes.append((spot, note))

    async def react(self, reference: str, reaction: Reaction, attempt: Attempt) -> None:
        self._fail()
        self.reactions.append((reference, reaction))  # every call: tests count them

    async def alert(self, team: Team, text: str, attempt: Attempt) -> bool:
        self._fail()
        if team.slack_channel is None:
            return False
        self.alerts.append((team.id, text))
        return True

    async def erase_thread(self, spot: Spot) -> int:
        self._fail()
        if spot in self.erased:
            return 0
        self.erased.append(spot)
        return sum(s == spot for s, _ in self.cards) + len(self.in_thread(spot))

    async def name_of(self, desk_user: str) -> str:
        return f"desk user {desk_user}"

    async def presence(self, employee_ids: Collection[str]) -> dict[str, str]:
        return {e: why for e, why in self.absent.items() if e in employee_ids}

    def thread_of(self, employee: str) -> Spot:
        """The newest card's thread on an employee's desk."""
        return next(spot for spot, card in reversed(self.cards) if card.employee.id == employee)

    def in_thread(self, spot: Spot) -> list[str]:
        return [line.text for s, line in self.posts if s == spot]


@dataclass
class FakeChannel:
    """A customer channel that sends each message (as a messenger does) and records it."""

    name: str = "chat"
    title: str = "the test chat"
    sent: dict[str, list[Outgoing]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    unreachable: set[str] = field(default_factory=set)  # for now: retry later

    async def deliver(self, address: str, message: Outgoing, sent: int, progress: Progress) -> None:
        if address in self.blocked:
            raise Undeliverable("the customer blocked us")
        if address in self.unreachable:
            raise RetryLater("the chat service is down")
        self.sent.setdefault(address, []).append(message)  # in one part

    def invitation(self, code: str) -> str:
        return f"https://chat.example/start?code={code}"


class Customer:
    """A customer on the fake channel, by their address there."""

    def __init__(self, harness: Harness, address: str) -> None:
        self.harness = harness
        self.address = address
        self._ids = itertools.count(1)

    @property
    def received(self) -> list[Outgoing]:
        return self.harness.channel.sent.get(self.address, [])

    @property
    def saw(self) -> list[str]:
        """Every message sent to this customer, as text (a person's with their name)."""
        return [f"{m.author.name}: {m.text}" if m.author else m.text for m in self.received]

    async def id(self) -> int:
        return await self.harness.customers.identify(self.harness.channel.name, self.address)

    async def says(self, text: str, *, settle: bool = True) -> None:
        customer = await self.id()
        await self.harness.customers.receive(
            customer, self.harness.channel.name, text, f"{self.address}:{next(self._ids)}"
        )
        if settle:
            await self.harness.settle()

    async def rates(self, score: int | None, comment: str | None = None) -> str:
        """Answer the newest rating request sent to this customer (None skips it)."""
        asked = next(m.rating for m in reversed(self.received) if m.rating is not None)
        outcome = await self.harness.ratings.rate(await self.id(), asked, score, comment)
        await self.harness.settle()
        return outcome

    async def starts(self, code: str | None = None) -> None:
        source = f"{self.address}:start:{next(self._ids)}"
        await self.harness.customers.start(await self.id(), self.harness.channel.name, code, source)
        await self.harness.settle()


class Employee:
    """An employee acting from the desk, by their Frontdesk id."""

    def __init__(self, harness: Harness, employee_id: str) -> None:
        self.harness = harness
        self.id = employee_id

    async def writes(
        self,
        text: str,
        *,
        in_thread: Spot | None = None,
        as_: str | None = None,
        files: Sequence[SharedFile] = (),
    ) -> str:
        spot = in_thread or self.harness.desk.thread_of(self.id)
        conversation = self.harness.conversation_of(spot)
        source = f"{spot.place}:{next(self.harness.desk_ids)}"
        who = as_ or self.id
        outcome = await self.harness.employees.write(conversation, who, text, source, files)
        await self.harness.settle()
        return outcome

    async def closes(self, spot: Spot | None = None) -> bool:
        done = await self.harness.employees.close(self._conversation(spot), self.id)
        await self.harness.settle()
        return done

    async def transfers(
        self, target: Any, spot: Spot | None = None, *, intent: str | None = None
    ) -> None:
        """Transfer the conversation (`intent`: the one picked with the target team)."""
        await self.harness.employees.transfer(self._conversation(spot), self.id, target, intent)
        await self.harness.settle()

    async def takes_over(self, spot: Spot) -> bool:
        done = await self.harness.employees.take_over(self.harness.conversation_of(spot), self.id)
        await self.harness.settle()
        return done

    def _conversation(self, spot: Spot | None) -> int:
        return self.harness.conversation_of(spot or self.harness.desk.thread_of(self.id))


class Harness:
    def __init__(
        self,
        directory: Path,
        *,
        config: RoutingConfig | None = None,
        meanings: Mapping[str, Classification] = MEANINGS,
        desk: bool = True,
        database_url: str | None = None,
    ) -> None:
        self.config = config or config_from(always_open_text())
        self.clock = Clock()
        self.store = Store(database_url or f"sqlite:///{directory / 'harness.db'}")
        self.metrics = Metrics()
        self.news = News(self.store)
        self.outbox = Outbox(self.store, self.metrics, self.news, clock=self.clock)
        self.channels = Channels()
        self.channel = FakeChannel()
        self.channels.add(self.channel, sender=self.channel, inviter=self.channel)
        self.conversations = Conversations(
            self.store, self.outbox, self.channels, self.metrics, lambda: self.config, self.clock
        )
        self.nlu = Lookup(meanings)
        self.customers = Customers(self.conversations, self.nlu)
        self.employees = Employees(self.conversations)
        self.ratings = Ratings(self.conversations)
        self.desk = FakeDesk()
        self.desk_ids = itertools.count(1)  # the desk's id for each message written there
        self.core = handle_core_jobs(self.outbox, self.customers)
        self.delivery, self.privacy, self.escalation = (
            self.core.delivery,
            self.core.privacy,
            self.core.escalation,
        )
        if desk:
            self.connect_desk()

    def connect_desk(self) -> None:
        handle_desk_jobs(self.outbox, self.core, self.desk, files=self.desk)

    async def __aenter__(self) -> Harness:
        await self.store.upgrade()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.outbox.stop()
        await self.store.close()

    def customer(self, address: str) -> Customer:
        return Customer(self, address)

    def employee(self, employee_id: str) -> Employee:
        return Employee(self, employee_id)

    async def settle(self, rounds: int = 50) -> None:
        """Do all the work that is due now, as the outbox would, then return."""
        for _ in range(rounds):
            await self.outbox.idle()
            if await self.outbox.run_due() == 0 and not self.outbox.busy:
                return
        raise AssertionError("the outbox kept finding work")

    def conversation_of(self, spot: Spot) -> int:
        return next(card.conversation_id for s, card in self.desk.cards if s == spot)

    async def query(self, run: Callable[[Any], Awaitable[Any]]) -> Any:
        async with self.store.reading() as connection:
            return await run(connection)
