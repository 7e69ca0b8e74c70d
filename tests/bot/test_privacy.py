"""Data protection: a customer's data exported, then erased (in every table, and on the
desk through the outbox, retried like any post), the conversations still counted;
retention with a clock the test moves; the command line. (The admin API, and the desk
over real HTTP: test_privacy_http.py.)"""

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from bot.jobs import HandleInbound, inbound_lane
from bot.outbox import RetryLater
from bot.privacy import ADDRESS, RETENTION_LANE, Privacy, UnknownCustomer
from bot.reports import report
from bot.store import Connection, history, queue
from bot.store import conversations as stored
from bot.store.privacy import ERASED
from bot.tables import conversations, erasures, inbox, messages, outbox
from routing import ConfigError
from tests.bot.test_cli import frontdesk as run_frontdesk
from tests.bot.test_reports import DAY, rows
from tests.fakes.frontdesk import always_open_text
from tests.fakes.harness import Harness, config_from

CHARGED = "I was charged twice for my subscription this month"
CARD = "my card ends in 4242, write to ada.lovelace@example.com"
REPLY = "Refunded to the card ending 4242, Ada"
PHOTO_URL = "https://files.example/receipt-ada-0815.jpg"
ADDRESS_OF_ADA = "chat-ada-4711"
NAME = "Ada Lovelace"
SPAM = "CALL ME BACK NOW on 07700 900123"


@dataclass
class StoringChat:
    """The test chat as a channel that stores raw updates before acting on them, as a
    messenger's webhook does (see roles.Reader)."""

    harness: Harness

    async def handle_inbound(self, payload: dict[str, Any]) -> None:
        customers, sender = self.harness.customers, payload["from"]
        customer = await customers.identify("chat", sender, name=payload["name"])
        await customers.receive(customer, "chat", payload["text"], f"{sender}:u{payload['id']}")

    @classmethod
    def on(cls, harness: Harness) -> None:
        chat = harness.channel
        harness.channels.add(chat, sender=chat, inviter=chat, reader=cls(harness))


async def update_from(
    harness: Harness, sender: str, number: int, text: str, rejected: str | None = None
) -> None:
    """An update from `sender`, stored and (unless rejected) handled in its lane."""
    payload = {"id": number, "from": sender, "name": NAME, "text": text}
    async with harness.outbox.transaction() as tx:
        now, key = harness.clock(), str(number)
        await queue.store_inbound(tx.connection, "chat", key, payload, now, rejected, sender)
        if rejected is None:
            lane = inbound_lane("chat", sender)
            await tx.enqueue(HandleInbound("chat", key), conversation_id=None, lane=lane)
    await harness.settle()


async def ada_talks(harness: Harness) -> tuple[int, str]:
    """Ada (named, on the test chat) is charged twice, handed to billing, sends details
    (one message over a limit, kept as rejected) and a photo; her employee answers; she
    asks for a link code. Her id and the code."""
    StoringChat.on(harness)
    await update_from(harness, ADDRESS_OF_ADA, 1, CHARGED)
    await update_from(harness, ADDRESS_OF_ADA, 2, SPAM, rejected="over the chat's limit")
    customer = await harness.customers.identify("chat", ADDRESS_OF_ADA)
    await harness.customer(ADDRESS_OF_ADA).says(CARD)
    photo = {"attachment": {"kind": "photo", "url": PHOTO_URL}}
    await harness.customers.receive(customer, "chat", "[photo]", "photo-1", photo)
    await harness.settle()
    await harness.employee(harness.desk.cards[-1][1].employee.id).writes(REPLY)
    code = (await harness.customers.invitation(customer, "chat")).rpartition("code=")[2]
    return customer, code


async def every_text(connection: Connection) -> str:
    """Every value of every row of every table, as one text."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for row in (await connection.execute(select(table))).all():
            found.append(json.dumps(list(row), default=str))
    return "\n".join(found)


async def test_an_export_holds_everything_and_an_erasure_leaves_none_of_it(
    tmp_path: Path, database_url: str
) -> None:
    async with Harness(tmp_path, database_url=database_url) as harness:
        customer, code = await ada_talks(harness)
        exported = await harness.privacy.export(customer)
        assert exported["customer"]["name"] == NAME
        assert exported["contacts"] == [
            {**exported["contacts"][0], "channel": "chat", "address": ADDRESS_OF_ADA,
             "address_is": ADDRESS}
        ]  # fmt: skip
        [conversation] = exported["conversations"]
        said = [(m["author"], m["body"]) for m in conversation["messages"]]
        for line in [("customer", CHARGED), ("customer", CARD), ("customer", "[photo]"),
                     ("employee", REPLY)]:  # fmt: skip
            assert line in said
        assert conversation["intent"] == "billing"
        assert [m["details"] for m in conversation["messages"] if m["body"] == "[photo]"] == [
            {"attachment": {"kind": "photo", "url": PHOTO_URL}}
        ]
        assert [a["employee_id"] for a in conversation["assignments"]] == [
            conversation["employee_id"]
        ]
        [spot] = [spot for spot, _ in harness.desk.cards]
        assert [(t["place"], t["thread"]) for t in conversation["desk_threads"]] == [
            (spot.place, spot.thread)
        ]
        assert [c["code"] for c in exported["link_codes"]] == [code]
        assert [(u["key"], u["payload"]["text"], u["rejected"]) for u in exported["inbound"]] == [
            ("1", CHARGED, None), ("2", SPAM, "over the chat's limit")
        ]  # fmt: skip
        assert exported["erasures"] == []
        async with harness.store.reading() as connection:
            before = await every_text(connection)
        secrets = [NAME, ADDRESS_OF_ADA, CHARGED, CARD, REPLY, PHOTO_URL, code, SPAM]
        assert all(secret in before for secret in secrets)

        erasure = await harness.privacy.erase(customer, "a test")
        await harness.settle()

        assert (erasure.conversations, erasure.contacts, erasure.closed) == (1, 1, 1)
        assert erasure.updates == 2  # kept, emptied: a repeat is still recognised
        assert erasure.messages == len(said)
        assert harness.desk.erased == [spot]
        async with harness.store.reading() as connection:
            after = await every_text(connection)
            recorded = (await connection.execute(select(erasures))).all()
            kept = await stored.recent(connection, None, 10)
            bodies = (await connection.execute(select(messages.c.body))).scalars().all()
        assert [secret for secret in secrets if secret in after] == []
        # The conversation still counts, as it was: when, about what, with whom.
        assert [(c.id, c.intent, c.employee_id, c.status) for c in kept] == [
            (conversation["id"], "billing", conversation["employee_id"], "closed")
        ]
        assert kept[0].created_at.isoformat() == conversation["created_at"]
        assert list(bodies) == [ERASED] * len(said)
        assert [(r.customer_id, r.by) for r in recorded] == [(customer, "a test")]

        again = await harness.privacy.erase(customer, "a test")
        await harness.settle()
        assert (again.contacts, again.closed) == (0, 0)
        assert harness.desk.erased == [spot]  # the desk had nothing left to replace
        exported = await harness.privacy.export(customer)
        assert exported["customer"]["name"] is None
        assert exported["contacts"] == exported["link_codes"] == exported["inbound"] == []
        assert len(exported["erasures"]) == 2


async def test_replay_examples_quote_no_erased_words(tmp_path: Path, database_url: str) -> None:
    """A config replay quotes each example conversation's first words: Fay's were erased."""
    async with Harness(tmp_path, database_url=database_url) as harness:
        fay, gus = harness.customer("fay"), harness.customer("gus")
        await fay.says(CHARGED)
        await gus.says(CHARGED)
        await harness.privacy.erase(await fay.id(), "a test")
        await harness.settle()
        async with harness.store.reading() as connection:
            ids = set((await connection.execute(select(conversations.c.id))).scalars())
            words = await history.first_words(connection, ids)
    assert len(ids) == 2
    assert list(words.values()) == [CHARGED]


async def test_reports_count_erased_conversations_but_read_none_of_their_words(
    tmp_path: Path, database_url: str
) -> None:
    """Eve (not understood) and Fay (billing, answered) are erased; Gus (billing) is not."""
    async with Harness(tmp_path, database_url=database_url) as harness:
        eve, fay, gus = (harness.customer(name) for name in ("eve", "fay", "gus"))
        await eve.says("do you ship to Iceland")
        await eve.says("shipping to Iceland please")
        await fay.says(CHARGED)
        harness.clock.advance(minutes=4)
        await harness.employee(harness.desk.cards[-1][1].employee.id).writes(REPLY)
        await gus.says(CHARGED)
        await gus.says("this is unacceptable")
        for erased in (eve, fay):
            await harness.privacy.erase(await erased.id(), "a test")
        await harness.settle()
        parts = await report(harness.store, harness.config, DAY)
    assert rows(parts["volume"], "topic", "conversations") == [("(unknown)", 1), ("billing", 2)]
    # Fay answered 4 minutes after she wrote (erased, still counted); Gus and Eve waiting.
    assert rows(parts["first_response_teams"], "team", "replies", "waiting", "p50_seconds") == [
        ("billing", 1, 1, 240.0),
        ("support", 0, 1, None),
    ]
    assert parts["not_understood"] == []  # not a group of "[erased]" messages
    assert rows(parts["sentiment_topics"], "topic", "messages", "average") == [
        ("billing", 2, -1.0)  # Gus's alone, not diluted by erased messages read as 0.0
    ]
    assert rows(parts["most_negative"], "topic", "average", "worst") == [("billing", -1.0, CHARGED)]


async def test_a_missing_customer_is_said_so(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        with pytest.raises(UnknownCustomer, match="no customer 404"):
            await harness.privacy.export(404)
        with pytest.raises(UnknownCustomer, match="no customer 404"):
            await harness.privacy.erase(404, "a test")


async def test_an_erasure_waits_for_the_desk_and_then_replaces_its_posts(tmp_path: Path) -> None:
    """The desk fails twice; the job is retried with backoff until it gets through."""
    async with Harness(tmp_path) as harness:
        customer, _ = await ada_talks(harness)
        harness.desk.failing = [RetryLater("desk down"), RetryLater("desk down")]
        await harness.privacy.erase(customer, "a test")
        await harness.settle()
        assert harness.desk.erased == []
        for _ in range(2):
            harness.clock.advance(seconds=10)
            await harness.settle()
        assert len(harness.desk.erased) == 1


def with_retention(days: int | None) -> Any:
    text = always_open_text() + (f"retention: {{messages: {days}d}}\n" if days else "")
    return config_from(text)


async def pending_expiries(harness: Harness) -> list[Any]:
    async with harness.store.reading() as connection:
        found = await connection.execute(
            select(outbox.c.run_after).where(outbox.c.lane == RETENTION_LANE)
            .where(outbox.c.status == "pending")
        )  # fmt: skip
        return list(found.scalars())


async def bodies(harness: Harness) -> list[str]:
    async with harness.store.reading() as connection:
        found = await connection.execute(select(messages.c.body).order_by(messages.c.id))
        return list(found.scalars())


async def test_retention_erases_old_message_bodies_once_a_day(
    tmp_path: Path, database_url: str
) -> None:
    async with Harness(tmp_path, config=with_retention(30), database_url=database_url) as harness:
        StoringChat.on(harness)
        await update_from(harness, "ada", 1, CHARGED)
        ada = harness.customer("ada")
        # Two instances starting at once queue one daily job between them.
        await asyncio.gather(
            harness.privacy.schedule_retention(),
            Privacy(harness.conversations).schedule_retention(),
        )
        await harness.settle()
        start = harness.clock()
        assert await pending_expiries(harness) == [start + timedelta(days=1)]
        first = await bodies(harness)
        assert ERASED not in first

        harness.clock.advance(days=20)
        await ada.says(CARD)  # in the open conversation's thread
        harness.clock.advance(days=11)  # the first messages are 31 days old
        await harness.settle()
        assert await bodies(harness) == [ERASED] * len(first) + [CARD]
        assert await pending_expiries(harness) == [harness.clock() + timedelta(days=1)]
        async with harness.store.reading() as connection:  # the raw update, the old jobs
            assert (await connection.execute(select(inbox))).all() == []
            old = outbox.c.created_at < start + timedelta(days=1)
            assert (await connection.execute(select(outbox).where(old))).all() == []

        harness.clock.advance(days=20)  # the last one is 31 days old too
        await harness.settle()
        assert await bodies(harness) == [ERASED] * (len(first) + 1)
        async with harness.store.reading() as connection:
            assert await stored.recent(connection, None, 10) != []  # still counted


async def test_without_retention_messages_are_kept(tmp_path: Path) -> None:
    async with Harness(tmp_path, config=with_retention(None)) as harness:
        await harness.customer("ada").says(CHARGED)
        await harness.privacy.schedule_retention()
        assert await pending_expiries(harness) == []  # no daily job at all
        harness.clock.advance(days=3650)
        await harness.settle()
        assert ERASED not in await bodies(harness)


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("retention: {messages: 1y}", "retention.messages: '1y' is not a period: give a number of days, such as 365d"),
        ("retention: {messages: 0d}", "retention.messages: '0d' is not a period"),
        ("retention: {mesages: 30d}", "retention.mesages: unknown key; did you mean 'messages'?"),
    ],
)  # fmt: skip
def test_a_bad_retention_is_refused_naming_key_and_line(section: str, problem: str) -> None:
    text = always_open_text() + section + "\n"
    with pytest.raises(ConfigError) as refused:
        config_from(text)
    line = len(text.splitlines())
    assert any(f"config.yml:{line}: {problem}" in found for found in refused.value.lines())


def test_retention_is_read_in_days() -> None:
    assert with_retention(365).retention.messages == timedelta(days=365)
    assert with_retention(None).retention.messages is None


# The command line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "explains"),
    [
        (["customers", "--help"], "export print everything stored about a customer, as JSON"),
        (["customers", "export", "--help"], "(for the web widget a hash of the visitor's token"),
        (["customers", "erase", "--help"], "Erasing twice does no harm."),
    ],
)
def test_customers_commands_explain_themselves(args: list[str], explains: str) -> None:
    result = run_frontdesk(*args)
    assert result.returncode == 0, result.stderr
    assert explains in " ".join(result.stdout.split())


async def test_the_command_line_exports_and_erases(tmp_path: Path, database_url: str) -> None:
    async with Harness(tmp_path, database_url=database_url) as harness:
        customer, _ = await ada_talks(harness)
    env = {"DATABASE_URL": database_url}

    exported = await asyncio.to_thread(run_frontdesk, "customers", "export", str(customer), **env)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["customer"]["name"] == NAME
    assert CARD in [m["body"] for m in data["conversations"][0]["messages"]]

    erased = await asyncio.to_thread(run_frontdesk, "customers", "erase", str(customer), **env)
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith(f"Erased customer {customer}: ")
    assert "The app replaces what it posted on the desk for 1 conversation " in erased.stdout

    after = await asyncio.to_thread(run_frontdesk, "customers", "export", str(customer), **env)
    data = json.loads(after.stdout)
    assert data["customer"]["name"] is None
    assert {m["body"] for m in data["conversations"][0]["messages"]} == {ERASED}
    assert [e["by"] for e in data["erasures"]] == ["the command line"]

    async with Harness(tmp_path, database_url=database_url) as harness:
        queued = await harness.query(
            lambda connection: connection.execute(
                select(outbox.c.conversation_id)
                .where(outbox.c.status == "pending", outbox.c.kind == "desk.erase")
            )
        )  # fmt: skip
        assert list(queued.scalars()) == [data["conversations"][0]["id"]]  # for the app to run

    for action in ("export", "erase"):
        missing = await asyncio.to_thread(run_frontdesk, "customers", action, "999", **env)
        assert missing.returncode == 1
        assert missing.stderr == "no customer 999: nothing is stored under that id.\n"
