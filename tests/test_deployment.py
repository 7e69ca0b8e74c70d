"""The topology of deploy/compose.yml without containers: one real Rasa server, two
`frontdesk serve` processes on one fresh PostgreSQL database (started together), widget
visitors and signed Slack events spread over both, and one instance killed (SIGKILL)
while its Slack calls are in flight. The survivor takes over the dead one's jobs once
their leases lapse; nothing acknowledged is lost and nothing is done twice."""

import asyncio
import contextlib
import itertools
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import col, select

from bot.store import Store
from bot.tables import Assignment, Message, OutboxJob, Thread
from tests.conftest import PostgresDatabase, eventually
from tests.fakes.frontdesk import always_open_config
from tests.fakes.instance import Instance
from tests.fakes.server import LocalServer
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, send_event, thread_reply

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"),
        reason="several instances need PostgreSQL: set TEST_DATABASE_URL",
    ),
]

SITE = "http://shop.test"  # the page with the widget, as FRONTDESK_ALLOWED_ORIGINS names it
# What the shipped model hands straight to a person (see tests/fakes/rasa.py MEANINGS).
HANDOFFS = [
    "I was charged twice for my subscription this month",
    "the app keeps crashing every time I open my basket",
    "where is my order 12345",
    "I have another question about a payment on my invoice",
]
LEASE = 15.0  # bot/outbox.py: a dead instance's jobs are free again after this


class SlackGate:
    """The Slack double, reached by instance one under /one/ and by instance two under
    /two/. While shut, instance one's calls are held: chat.postMessage is done and its
    answer withheld (a response lost when the instance dies), anything else is held
    before it is done. `drop()` answers the held calls 503 (their caller is dead)."""

    def __init__(self, slack: FakeSlack) -> None:
        self.app = slack.app()
        self.held: list[str] = []
        self.shut = False
        self._dropped = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        instance, _, rest = scope["path"].lstrip("/").partition("/")
        scope = {**scope, "path": f"/{rest}", "raw_path": f"/{rest}".encode()}
        if instance != "one" or not self.shut:
            await self.app(scope, receive, send)
            return
        method = rest.rpartition("/")[2]
        self.held.append(method)
        if method == "chat.postMessage":
            await self.app(scope, receive, _lost)
        await self._dropped.wait()
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"instance gone"})

    def drop(self) -> None:
        self._dropped.set()


async def _lost(message: Any) -> None:
    """Where the answer to a post whose response is lost goes."""


class Customer:
    """A widget visitor as widget.js behaves behind a load balancer: it remembers the
    newest message id it has shown, resends what was not acknowledged, and reconnects
    to whichever instance answers when its socket drops."""

    _ids = itertools.count(1)

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls  # the first is where it connects first
        self.token: str | None = None
        self.last_seen = 0
        self.received: list[dict[str, Any]] = []  # every message frame, on any socket
        self.sent: dict[str, str] = {}  # client id -> text, in order
        self.unacked: dict[str, str] = {}
        self.acks: dict[str, int] = {}  # client id -> stored message id
        self.connections = 0
        self._socket: Any = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Customer":
        self._task = asyncio.create_task(self._run())
        await eventually(self._connected)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _connected(self) -> bool:
        return self._alive() and self._socket is not None

    def _alive(self) -> bool:
        """True while the reader runs; once it stopped, what stopped it is raised."""
        assert self._task is not None
        if self._task.done():
            self._task.result()
        return True

    async def _run(self) -> None:
        for url in itertools.cycle(self.urls):
            with contextlib.suppress(OSError, websockets.WebSocketException):
                await self._session(url)
            self._socket = None
            await asyncio.sleep(0.1)

    async def _session(self, url: str) -> None:
        address = url.replace("http", "ws", 1) + "/widget/socket"
        async with websockets.connect(address, origin=SITE) as socket:  # type: ignore[arg-type]
            hello = {"type": "hello", "token": self.token, "last_seen": self.last_seen}
            await socket.send(json.dumps(hello))
            welcome = json.loads(await socket.recv())
            assert welcome["type"] == "welcome", welcome
            assert self.token in (None, welcome["token"]), "a reconnect made a new customer"
            self.token = welcome["token"]
            self.connections += 1
            self._socket = socket
            for client_id, text in list(self.unacked.items()):
                await socket.send(json.dumps({"type": "message", "id": client_id, "text": text}))
            async for raw in socket:
                self._frame(json.loads(raw))

    def _frame(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "ack":
            self.acks[frame["id"]] = frame["message_id"]
            self.unacked.pop(frame["id"], None)
        elif frame["type"] == "message":
            self.received.append(frame["message"])
            self.last_seen = max(self.last_seen, frame["message"]["id"])
        else:
            raise AssertionError(f"unexpected frame {frame}")

    async def say(self, text: str) -> str:
        """Send a message (resent after a reconnect until acknowledged); its client id."""
        client_id = f"m{next(self._ids)}"
        self.sent[client_id] = self.unacked[client_id] = text
        if self._socket is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._socket.send(
                    json.dumps({"type": "message", "id": client_id, "text": text})
                )
        return client_id

    async def acked(self, client_id: str) -> int:
        async def stored() -> int | None:
            return self._alive() and self.acks.get(client_id)

        return await eventually(stored)  # type: ignore[return-value]

    async def shown(self, matching: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            self._alive()
            return next((m for m in self.received if matching(m)), None)

        return await eventually(found, timeout=45)  # type: ignore[return-value]


def saying(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message["text"] == text


_reply_ts = itertools.count(1)


async def reply(instances: list[Instance], spot: tuple[str, str], text: str) -> tuple[str, str]:
    """An employee's reply in a card's thread, posted as Slack does: to the first
    instance, and again (with X-Slack-Retry-Num) to the next if that one does not answer.
    Where the reply is in Slack: (channel, ts)."""
    place, thread = spot
    ts = f"1800000000.{next(_reply_ts):06d}"
    event = thread_reply(place, thread, place[1:], text, ts=ts)
    event_id = f"EvReply{next(_reply_ts):06d}"
    for retry, instance in enumerate(instances):
        try:
            response = await send_event(
                instance.url, event, event_id=event_id, retry_num=retry or None
            )
        except httpx.TransportError:
            continue
        assert response.status_code == 200, response.text
        return place, ts
    raise AssertionError("no instance took the event")


def cards(slack: FakeSlack) -> dict[int, list[dict[str, Any]]]:
    """The cards posted, by the conversation each is about."""
    found: dict[int, list[dict[str, Any]]] = {}
    for post in slack.posts:
        if post.get("blocks") and not post.get("thread_ts"):
            block = next(b for b in post["blocks"] if b.get("type") == "actions")
            found.setdefault(int(block["block_id"].removeprefix("conversation:")), []).append(post)
    return found


@contextlib.asynccontextmanager
async def deployment(
    tmp_path: Path, rasa_url: str, gate: SlackGate, slack_url: str
) -> AsyncIterator[tuple[Store, list[Instance]]]:
    async with PostgresDatabase(os.environ["TEST_DATABASE_URL"]) as database:
        config = always_open_config(tmp_path)
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "TELEGRAM_", "RASA_", "FRONTDESK_", "DATABASE_"))
        }
        instances = [
            Instance(name, inherited | {
                "DATABASE_URL": database, "RASA_URL": rasa_url, "FRONTDESK_CONFIG": str(config),
                "FRONTDESK_HOME": str(tmp_path / name), "FRONTDESK_ALLOWED_ORIGINS": SITE,
                "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": f"{slack_url}/{name}/api/",
            }, tmp_path / f"{name}.log")
            for name in ("one", "two")
        ]  # fmt: skip
        store = Store(database)
        try:
            # Together, as `docker compose up` starts them: each upgrades the schema.
            await asyncio.gather(*(instance.start() for instance in instances))
            up = {"status": "ok", "nlu": "ready", "slack": "connected"}
            await asyncio.gather(*(instance.healthy(up) for instance in instances))
            yield store, instances
        finally:
            await asyncio.gather(*(instance.stop() for instance in instances))
            await store.close()
            gate.drop()


def tail(instances: list[Instance]) -> str:
    return "\n".join(f"--- {i.name}:\n{i.tail()}" for i in instances)


async def test_two_instances_one_killed_mid_flight_lose_and_repeat_nothing(
    tmp_path: Path, rasa_url: str
) -> None:
    slack = FakeSlack()
    gate = SlackGate(slack)
    async with LocalServer(gate) as server:
        slack.url = server.url
        async with deployment(tmp_path, rasa_url, gate, server.url) as (store, instances):
            try:
                await scenario(store, instances, slack, gate)
            except BaseException:
                print(tail(instances))
                raise


async def scenario(
    store: Store, instances: list[Instance], slack: FakeSlack, gate: SlackGate
) -> None:
    one, two = instances
    homes = [[one.url, two.url], [two.url, one.url]]
    customers = [Customer(homes[i % 2]) for i in range(8)] + [Customer(homes[0]) for _ in range(4)]
    replies: dict[int, list[str]] = {i: [] for i in range(len(customers))}
    in_slack: dict[int, list[tuple[str, str]]] = {i: [] for i in range(len(customers))}
    async with contextlib.AsyncExitStack() as stack:
        for customer in customers:
            await stack.enter_async_context(customer)

        async def conversation_of(i: int) -> int:
            message_id = customers[i].acks[next(iter(customers[i].sent))]
            async with store.session() as session:
                message = await session.get(Message, message_id)
            assert message is not None
            return message.conversation_id

        async def spot(i: int) -> tuple[str, str]:
            conversation = await conversation_of(i)

            async def recorded() -> Thread | None:
                async with store.session() as session:
                    found = select(Thread).where(Thread.conversation_id == conversation)
                    return (await session.exec(found)).first()

            thread: Thread = await eventually(recorded, timeout=45)  # type: ignore[assignment]
            return thread.place, thread.thread

        async def answer(i: int, via: list[Instance]) -> None:
            text = f"Answer {len(replies[i]) + 1} for customer {i}"
            replies[i].append(text)
            in_slack[i].append(await reply(via, await spot(i), text))

        # Both instances up: customers on each, replies through the other one.
        for i in range(8):
            await customers[i].acked(await customers[i].say(HANDOFFS[i % 4]))
        for i in range(8):
            await customers[i].shown(lambda m: "introduces" in m)
            await answer(i, [two, one] if i % 2 == 0 else [one, two])
        for i in range(8):
            await customers[i].shown(saying(replies[i][0]))

        async def all_done() -> bool:
            async with store.session() as session:
                jobs = (await session.exec(select(OutboxJob))).all()
            return all(job.status == "done" for job in jobs)

        await eventually(all_done)  # the replies' delivery receipts too, so that only the
        # posts below are in flight when the gate shuts

        # Instance one's Slack calls hang: new handoffs and thread posts are in flight there.
        gate.shut = True
        for i in range(8, 12):
            await customers[i].acked(await customers[i].say(HANDOFFS[i % 4]))
        for i in (0, 2, 4, 6):
            await customers[i].acked(await customers[i].say(f"follow-up from customer {i}"))
        for i in range(8, 12):
            await customers[i].shown(lambda m: "introduces" in m)

        async def in_flight() -> bool:
            return len(gate.held) >= 8  # four cards, four thread posts (their first calls)

        await eventually(in_flight)
        await answer(1, [one, two])  # stored by one, shown by two
        await answer(0, [one, two])
        unacked = await customers[2].say("are you still there?")
        await one.kill()
        gate.drop()
        await answer(3, [one, two])  # Slack retries on the survivor
        await customers[2].acked(unacked)

        # The survivor finishes one's jobs once their leases lapse.
        async def settled() -> bool:
            return await all_done() and len(cards(slack)) == 12

        await eventually(settled, timeout=LEASE + 30)
        for i in range(8, 12):
            await answer(i, [two])
        for i, texts in replies.items():
            for text in texts:
                await customers[i].shown(saying(text))

        # Every reply shown is marked delivered in Slack (a reaction, desk.receipt), customer
        # 0's second too: instance one may have shown it just before it was killed and not
        # written its receipt, but the widget comes back to two saying what it has shown.
        marked = {spot for spots in in_slack.values() for spot in spots}

        async def receipts_done() -> bool:
            reacted = {(r["channel"], r["timestamp"]) for r in slack.reactions}
            return marked <= reacted and await all_done()

        await eventually(receipts_done)

        # Acknowledged customer messages: each stored once, in the order sent.
        async with store.session() as session:
            stored = (
                await session.exec(
                    select(Message).where(Message.author == "customer").order_by(col(Message.id))
                )
            ).all()
            assignments = (await session.exec(select(Assignment))).all()
            jobs = (await session.exec(select(OutboxJob))).all()
            threads = (await session.exec(select(Thread))).all()
        conversations = [await conversation_of(i) for i in range(len(customers))]
        for i, customer in enumerate(customers):
            assert not customer.unacked
            mine = [m for m in stored if m.conversation_id == conversations[i]]
            assert [m.body for m in mine] == list(customer.sent.values())
            assert [m.id for m in mine] == [customer.acks[c] for c in customer.sent]
        assert len(stored) == sum(len(c.sent) for c in customers)

    # Every handed-off conversation: one open assignment, one card, one thread.
    open_assignments = Counter(a.conversation_id for a in assignments if a.ended_at is None)
    assert open_assignments == Counter(conversations)
    posted = cards(slack)
    assert sorted(posted) == sorted(conversations)
    assert all(len(found) == 1 for found in posted.values()), posted
    assert sorted((t.conversation_id, t.place, t.thread) for t in threads) == sorted(
        (c, p[0]["channel"], p[0]["ts"]) for c, p in posted.items()
    )
    # Follow-ups posted once each in their card's thread.
    for i in (0, 2, 4, 6):
        card = posted[conversations[i]][0]
        texts = [p["text"] for p in slack.posts_in(card["channel"], card["ts"])]
        assert [t.split("*: ", 1)[1] for t in texts] == [f"follow-up from customer {i}"] + (
            ["are you still there?"] if i == 2 else []
        )
    # Employee replies: each reached its customer once, and nothing was shown twice.
    for i, customer in enumerate(customers):
        shown = [m["text"] for m in customer.received if m["kind"] == "employee"]
        assert shown == replies[i], (i, shown)
        ids = Counter(m["id"] for m in customer.received)
        assert max(ids.values()) == 1, (i, ids)
    # The dead instance's jobs were finished by the survivor, its lost posts found. One
    # may also have been marking customer 0's reply delivered (its reactions.add held, or
    # not sent yet): the survivor does it (had it been done, already_reacted counts as done).
    assert all(job.status == "done" for job in jobs)
    held = Counter(gate.held)
    assert held.pop("reactions.add", 0) <= 1, gate.held
    # A card's first call is its post, to the employee's id (no DM to open first).
    assert held == {"chat.postMessage": 8}, gate.held
    retried = Counter(job.kind for job in jobs if job.attempts > 1)
    assert retried.pop("desk.receipt", 0) <= 1, retried
    assert retried == {"card.open": 4, "thread.post": 4}
    assert "conversations.history" in slack.calls
    # Each employee reply marked once, and only replies.
    reactions = Counter((r["channel"], r["timestamp"]) for r in slack.reactions)
    assert all(count == 1 for count in reactions.values()), reactions
    assert set(reactions) == marked
    # Everyone whose socket was on instance one reconnected once, to instance two.
    assert [c.connections for c in customers] == [2, 1, 2, 1, 2, 1, 2, 1, 2, 2, 2, 2]
