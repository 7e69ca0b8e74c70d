"""Schema revisions on real SQLite and PostgreSQL: an empty database and one release 0.1
left behind both end as bot/tables.py describes, 0.1's rows all kept and found where
today's code looks; instances starting together upgrade once; `frontdesk db`."""

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import PIPE
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from bot.store import Store, async_url, queue, schema
from bot.store import conversations as stored
from bot.store.rows import add, key
from bot.store.schema import SchemaError, Upgrade
from bot.tables import (
    Contact,
    Conversation,
    Customer,
    Thread,
    conversations,
    employee_status,
    inbox,
    outbox,
    threads,
)
from routing import EmployeeState
from tests.bot.test_cli import FRONTDESK, frontdesk
from tests.conftest import PostgresDatabase

T = TypeVar("T")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOUR, DAY, MINUTE = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)
BIG_UPDATE = 9_007_199_254_740_993  # 2**53 + 1: no float can carry it


async def run(url: str, work: Callable[[Connection], T]) -> T:
    """`work` in a transaction on a connection of its own (not the app's store)."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def as_release_0_1(connection: Connection) -> None:
    """The tables as 0.1 made them, and no record of a revision. The baseline revision
    creates them (its DDL was checked against 0.1's `create_all` on both backends)."""
    schema.upgrade(connection, schema.BASELINE)
    connection.execute(text("DROP TABLE alembic_version"))


def differences(connection: Connection) -> list[Any]:
    """What Alembic's autogenerate would change to make the database the models."""
    options = {"compare_type": True, "compare_server_default": True}
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, SQLModel.metadata))


def shape(connection: Connection) -> dict[str, Any]:
    """Every table's columns, keys and indexes (partial ones with their condition), as
    the database reports them; columns by name, as a new column comes last."""
    found = inspect(connection)
    return {
        name: {
            "columns": sorted(
                (c["name"], repr(c["type"]), c["nullable"]) for c in found.get_columns(name)
            ),
            "primary": found.get_pk_constraint(name)["constrained_columns"],
            "unique": sorted(
                (u["name"] or "", *u["column_names"]) for u in found.get_unique_constraints(name)
            ),
            "foreign": sorted(
                (f["name"] or "", f["referred_table"], *f["constrained_columns"])
                for f in found.get_foreign_keys(name)
            ),
            "indexes": sorted(
                (
                    i["name"] or "",
                    bool(i["unique"]),
                    *(f"{k}: {v}" for k, v in i.get("dialect_options", {}).items()),
                    *map(str, i["column_names"]),
                )
                for i in found.get_indexes(name)
            ),
        }
        for name in found.get_table_names()
        if name != "alembic_version"
    }


@asynccontextmanager
async def another_database(url: str, tmp_path: Path) -> AsyncIterator[str]:
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'another.db'}"
        return
    async with PostgresDatabase(os.environ["TEST_DATABASE_URL"]) as other:
        yield other


async def test_an_empty_database_is_upgraded_to_the_models(
    database_url: str, tmp_path: Path
) -> None:
    store = Store(database_url)
    try:
        assert await store.revision() is None
        assert await store.upgrade() == Upgrade(None, schema.newest())
        assert await store.revision() == schema.newest()
        assert await store.upgrade() == Upgrade(schema.newest(), schema.newest())
    finally:
        await store.close()
    assert await run(database_url, differences) == []
    async with another_database(database_url, tmp_path) as expected:
        await run(expected, SQLModel.metadata.create_all)
        assert await run(database_url, shape) == await run(expected, shape)


async def test_the_baseline_is_recognised_and_upgraded_to_the_models(database_url: str) -> None:
    await run(database_url, as_release_0_1)
    store = Store(database_url)
    try:
        assert await store.revision() == schema.BASELINE
        assert await store.upgrade() == Upgrade(schema.BASELINE, schema.newest())
    finally:
        await store.close()
    assert await run(database_url, differences) == []


async def test_release_0_1s_rows_are_all_found_after_the_upgrade(database_url: str) -> None:
    await run(database_url, as_release_0_1)
    await run(database_url, seed_release_0_1)
    store = Store(database_url)
    try:
        assert await store.upgrade() == Upgrade(schema.BASELINE, schema.newest())
        async with store.reading() as connection:

            async def rows(*columns: Any) -> list[tuple[Any, ...]]:
                query = select(*columns).order_by(*columns[:1])
                return [tuple(row) for row in (await connection.execute(query)).all()]

            for name, columns, seeded in RELEASE_0_1:
                if name in UNCHANGED:
                    table = SQLModel.metadata.tables[name]
                    found = await rows(*(table.c[column] for column in columns))
                    assert found == sorted(seeded, key=lambda row: row[0]), name
            # Conversations: the same, but for the thread, now named by its id.
            kept = [c for c in CONVERSATION if not c.startswith("slack_")]
            assert await rows(*(conversations.c[c] for c in kept)) == [
                tuple(value for c, value in zip(CONVERSATION, row, strict=True) if c in kept)
                for row in next(rows for name, _, rows in RELEASE_0_1 if name == "conversations")
            ]
            v = conversations.c
            assert await rows(v.id, v.thread_id) == [(21, 32), (22, 33), (23, None)]
            d = threads.c
            assert await rows(d.id, d.conversation_id, d.assignment_id, d.place, d.thread,
                              d.created_at) == [
                (31, 21, 41, "D0TOMAS", "1732350000.000100", T0),
                (32, 21, 42, "D0MEI", "1732350100.000200", T0 + HOUR),
                (33, 22, 43, "C0BILLING", "1732361000.000300", T0 + 3 * HOUR),
            ]  # fmt: skip
            # A reply in the first thread, before the transfer, still finds its conversation.
            found = await stored.conversation_for_thread(connection, "D0TOMAS", "1732350000.000100")
            assert found == 21
            assert await rows(outbox.c.id, outbox.c.checkpoint) == [(n, 0) for n in range(61, 67)]
            i = inbox.c
            assert await rows(i.id, i.channel, i.key, i.payload, i.received_at) == [
                (1, "telegram", "812345678", update(812345678, "hi"), T0 + 3 * HOUR),
                (2, "telegram", str(BIG_UPDATE), update(BIG_UPDATE, "?"), T0 + 5 * HOUR),
            ]
            s = employee_status.c
            assert await rows(s.employee_id, s.away, s.last_assigned_at, s.updated_at) == [
                ("mei", False, T0 + HOUR, T0 + HOUR),
                ("priya", True, T0 + 3 * HOUR, T0 - DAY),
                ("sam", False, None, T0 - 2 * DAY),
                ("tomas", False, T0, T0),
            ]
        async with store.transaction() as connection:
            assert await stored.roster(connection) == {
                "mei": EmployeeState(0, away=False, last_assigned_at=T0 + HOUR),
                "priya": EmployeeState(1, away=True, last_assigned_at=T0 + 3 * HOUR),
                "sam": EmployeeState(0, away=False, last_assigned_at=None),
                "tomas": EmployeeState(0, away=False, last_assigned_at=T0),
            }
            # Telegram sending an old update again is recognised as a repeat.
            key = str(BIG_UPDATE)
            assert await queue.inbound(connection, "telegram", key) == update(BIG_UPDATE, "?")
            assert not await queue.store_inbound(connection, "telegram", key, {}, T0)
            # A new desk thread gets an id after those the upgrade copied.
            fresh = Thread(conversation_id=22, assignment_id=43, place="C0BILLING", thread="9.9")
            await stored.add_thread(connection, fresh)
            assert fresh.id == 34
    finally:
        await store.close()
    assert await run(database_url, differences) == []


def update(update_id: int, text: str) -> dict[str, Any]:
    message = {"message_id": 17, "chat": {"id": 987654321, "type": "private"}, "text": text}
    return {"update_id": update_id, "message": message}


CONVERSATION = ("id", "customer_id", "channel", "status", "intent", "confidence", "entities",
                 "introduced", "offered", "asked_for", "employee_id", "slack_channel",
                 "slack_thread_ts", "created_at", "closed_at")  # fmt: skip
_MESSAGE = ("id", "conversation_id", "author", "employee_id", "body", "details", "source",
            "source_id", "created_at")  # fmt: skip
_JOB = ("id", "kind", "conversation_id", "lane", "payload", "status", "attempts", "run_after",
        "locked_until", "last_error", "created_at", "finished_at")  # fmt: skip

# What a 0.1 installation holds after some use: a conversation transferred from Tomás to
# Mei and closed, one open with Priya, one in triage; jobs of 0.1's kinds, done, failed
# and pending; Telegram updates (one id past 2**53); link codes; Priya set away by an
# admin. Ids are spread so that a mix-up shows. Table, columns, rows.
# fmt: off
RELEASE_0_1: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]] = [
    ("customers", ("id", "name", "language", "tags", "created_at"), [
        (11, "Ada Lovelace", "en", ["vip"], T0 - 30 * DAY),
        (12, "Bo", None, [], T0 + 4 * HOUR),
    ]),
    ("contacts", ("id", "customer_id", "channel", "address", "created_at"), [
        (101, 11, "telegram", "987654321", T0),
        (102, 11, "web", "3f9a0c", T0),
        (103, 12, "web", "77c1d2", T0),
    ]),
    ("conversations", CONVERSATION, [
        (21, 11, "telegram", "closed", "refund", 0.93, {"order_id": "12345"}, True, [], None,
         "mei", "D0MEI", "1732350100.000200", T0, T0 + 2 * HOUR),
        (22, 11, "telegram", "open", "billing", 0.88, {}, True, [], None,
         "priya", "C0BILLING", "1732361000.000300", T0 + 3 * HOUR, None),
        (23, 12, "web", "triage", None, None, {}, True, ["refund", "billing"], None,
         None, None, None, T0 + 4 * HOUR, None),
    ]),
    ("assignments", ("id", "conversation_id", "employee_id", "team_id", "rule", "reasons",
                     "assigned_at", "first_reply_at", "ended_at"), [
        (41, 21, "tomas", "billing", "refunds", ["Rule 'refunds' matched."], T0, T0 + 5 * MINUTE,
         T0 + HOUR),
        (42, 21, "mei", None, None, ["Tomás transferred it."], T0 + HOUR, None, T0 + 2 * HOUR),
        (43, 22, "priya", "billing", "billing", [], T0 + 3 * HOUR, None, None),
    ]),
    ("slack_threads", ("id", "conversation_id", "channel", "ts", "assignment_id", "created_at"), [
        (31, 21, "D0TOMAS", "1732350000.000100", 41, T0),
        (32, 21, "D0MEI", "1732350100.000200", 42, T0 + HOUR),
        (33, 22, "C0BILLING", "1732361000.000300", 43, T0 + 3 * HOUR),
    ]),
    ("messages", _MESSAGE, [
        (51, 21, "customer", None, "I want a refund", {}, "telegram", "987654321:17", T0),
        (52, 21, "bot", None, "Tomás will answer", {"introduces": "tomas"}, "bot", None, T0),
        (53, 21, "employee", "tomas", "Passing you to Mei", {}, "slack",
         "D0TOMAS:1732350050.000150", T0 + 50 * MINUTE),
        (54, 22, "customer", None, "My invoice is wrong", {}, "telegram", "987654321:18",
         T0 + 3 * HOUR),
        (55, 22, "note", "priya", "Check the invoice", {}, "slack", "C0BILLING:1732361100.000400",
         T0 + 3 * HOUR),
        (56, 23, "customer", None, "hello?", {}, "web", "m-1", T0 + 4 * HOUR),
    ]),
    ("employee_status", ("employee_id", "away", "updated_at"), [
        ("priya", True, T0 - DAY),
        ("sam", False, T0 - 2 * DAY),
    ]),
    ("outbox", _JOB, [
        (61, "slack.card", 22, "conversation:22", {"assignment_id": 43, "upto": 54}, "done", 1,
         T0, None, None, T0, T0),
        (62, "slack.post", 22, "conversation:22", {"message_id": 54}, "pending", 0,
         T0, None, None, T0, None),
        (63, "slack.post", 22, "conversation:22", {"note": "Check the invoice"}, "pending", 0,
         T0, None, None, T0, None),
        (64, "telegram.send", 21, "conversation:21", {"message_id": 53}, "failed", 20,
         T0, None, "Forbidden", T0, T0),
        (65, "slack.update", 21, "conversation:21", {"closed_by": "U0MEI"}, "pending", 3,
         T0 + HOUR, T0 + HOUR, "429", T0, None),
        (66, "telegram.update", None, "telegram:987654321", {"update_id": BIG_UPDATE}, "pending",
         0, T0, None, None, T0, None),
    ]),
    ("telegram_updates", ("update_id", "payload", "received_at"), [
        (BIG_UPDATE, update(BIG_UPDATE, "?"), T0 + 5 * HOUR),
        (812345678, update(812345678, "hi"), T0 + 3 * HOUR),
    ]),
    ("link_codes", ("code", "customer_id", "expires_at", "used_at"), [
        ("K7Q2-PL9X", 12, T0 + 5 * HOUR, None),
        ("AB12-CD34", 11, T0, T0 - 20 * MINUTE),
    ]),
]
# fmt: on
UNCHANGED = {"customers", "contacts", "assignments", "messages", "outbox", "link_codes"}


def seed_release_0_1(connection: Connection) -> None:
    tables = MetaData()
    tables.reflect(connection)
    for name, columns, rows in RELEASE_0_1:
        values = [dict(zip(columns, row, strict=True)) for row in rows]
        connection.execute(tables.tables[name].insert(), values)
    if connection.dialect.name == "postgresql":
        # 0.1 took the ids from each table's sequence, which stands after them.
        for name, columns, _ in RELEASE_0_1:
            if columns[0] == "id":
                sequence = func.pg_get_serial_sequence(name, "id")
                connection.execute(select(func.setval(sequence, 200)))


async def test_foreign_keys_hold_after_an_upgrade(database_url: str) -> None:
    store = Store(database_url)
    try:
        await store.upgrade()
        with pytest.raises(IntegrityError):
            async with store.transaction() as connection:
                await add(connection, Contact(customer_id=404, channel="web", address="x"))
    finally:
        await store.close()


async def test_one_open_conversation_per_customer_after_an_upgrade(database_url: str) -> None:
    await run(database_url, as_release_0_1)
    store = Store(database_url)
    try:
        await store.upgrade()

        async def start(customer: int, status: str) -> None:
            async with store.transaction() as connection:
                await add(
                    connection, Conversation(customer_id=customer, channel="web", status=status)
                )

        async with store.transaction() as connection:
            customer = key(await add(connection, Customer(name="Ada")))
        for status in ("closed", "closed", "open"):
            await start(customer, status)
        with pytest.raises(IntegrityError):
            await start(customer, "waiting")
    finally:
        await store.close()


async def test_tables_of_no_known_revision_are_left_alone(database_url: str) -> None:
    await run(database_url, lambda c: c.execute(text("CREATE TABLE notes (id INTEGER)")))
    store = Store(database_url)
    try:
        with pytest.raises(SchemaError, match=r"tables \(notes\) but no schema revision"):
            await store.upgrade()
        with pytest.raises(SchemaError):
            await store.revision()
    finally:
        await store.close()
    assert await run(database_url, lambda c: inspect(c).get_table_names()) == ["notes"]


async def test_a_revision_from_a_newer_version_is_refused(database_url: str) -> None:
    store = Store(database_url)
    try:
        await store.upgrade()
        async with store.transaction() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaError, match="revision '9999', which this version"):
            await store.upgrade()
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_instances_starting_together_upgrade_once(database_url: str) -> None:
    """Three processes, as three instances of the app would be, on an empty database."""
    environment = {**os.environ, "DATABASE_URL": database_url}
    started = [
        await asyncio.create_subprocess_exec(
            FRONTDESK, "db", "upgrade", env=environment, stdout=PIPE, stderr=PIPE
        )
        for _ in range(3)
    ]
    async with asyncio.timeout(120):
        said = [await process.communicate() for process in started]
    assert [process.returncode for process in started] == [0, 0, 0], said
    newest = schema.describe(schema.newest())
    assert sorted(out.decode() for out, _ in said) == [
        f"The database is at the newest revision already: {newest}.\n",
        f"The database is at the newest revision already: {newest}.\n",
        f"Upgraded the database from none (an empty database) to {newest}.\n",
    ]
    assert await run(database_url, differences) == []


async def test_db_upgrade_and_current_say_where_the_database_is(database_url: str) -> None:
    newest, baseline = schema.describe(schema.newest()), schema.describe(schema.BASELINE)
    assert baseline == "0001 (the tables of release 0.1)"

    def db(command: str) -> str:
        result = frontdesk("db", command, DATABASE_URL=database_url)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert db("current") == f"none (an empty database): not the newest, which is {newest}.\n" \
        "`frontdesk db upgrade` (or `frontdesk serve`) upgrades it.\n"  # fmt: skip
    await run(database_url, as_release_0_1)
    assert db("current").startswith(f"{baseline}: not the newest, which is {newest}.\n")
    assert db("upgrade") == f"Upgraded the database from {baseline} to {newest}.\n"
    assert db("upgrade") == f"The database is at the newest revision already: {newest}.\n"
    assert db("current") == f"{newest}: the newest.\n"


def test_db_commands_explain_themselves() -> None:
    result = frontdesk("db", "--help")
    assert result.returncode == 0
    assert "upgrade   bring the database to the newest schema revision" in result.stdout
    assert "current   show the database's schema revision and whether it is the newest" in (
        result.stdout
    )
    result = frontdesk("db", "upgrade", "--help")
    assert result.stdout.startswith("usage: frontdesk db upgrade [-h]")
    assert "one made by an earlier version (0.1 included) is upgraded with its data" in " ".join(
        result.stdout.split()
    )


async def test_db_upgrade_refuses_tables_it_does_not_know(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    await run(url, lambda c: c.execute(text("CREATE TABLE notes (id INTEGER)")))
    result = frontdesk("db", "upgrade", DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "The database has tables (notes) but no schema revision" in result.stderr
