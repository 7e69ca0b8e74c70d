"""The store's queries against real SQLite and PostgreSQL: uniqueness that makes retries
safe, the roster, identities, link codes, and which conversation a desk thread is."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.exc import IntegrityError

from bot.slack_threads import Threads
from bot.store import Store, async_url
from bot.store import conversations as stored
from bot.store import customers as people
from bot.store.messages import add_once, transcript
from bot.store.rows import add, change, key
from bot.store.sqlite import SqliteFile
from bot.tables import (
    Assignment,
    Conversation,
    Customer,
    Message,
    Thread,
    contacts,
    customers,
    utcnow,
)
from routing import EmployeeState
from routing.hours import WorkingHours

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
OFFICE = WorkingHours.parse("Europe/London", {"mon-fri": "09:00-17:30"})


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(database_url)
    await store.upgrade()
    yield store
    await store.close()


async def conversation_for(
    store: Store, status: str = "open", employee: str | None = None
) -> Conversation:
    async with store.transaction() as connection:
        customer = await add(connection, Customer(name="Ada"))
        assert customer.id is not None
        return await add(
            connection,
            Conversation(
                customer_id=customer.id, channel="web", status=status, employee_id=employee
            ),
        )


async def assign(
    store: Store, conversation: Conversation, employee: str, at: datetime
) -> Assignment:
    assert conversation.id is not None
    record = Assignment(conversation_id=conversation.id, employee_id=employee, assigned_at=at)
    async with store.transaction() as connection:
        return await stored.assign(connection, record, conversation.status)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_get_an_async_driver(given: str, used: str) -> None:
    assert async_url(given) == used


async def test_upgrading_an_upgraded_database_changes_nothing(store: Store) -> None:
    await store.upgrade()
    await conversation_for(store)
    await store.upgrade()
    async with store.reading() as connection:
        assert (await connection.execute(select(func.count()).select_from(customers))).scalar() == 1


async def test_a_contact_belongs_to_one_customer_even_when_two_meet_them_at_once(
    store: Store,
) -> None:
    async def meet() -> int:
        async with store.transaction() as connection:
            return await people.customer_for(connection, "telegram", "42", name="Ada")

    first, second = await asyncio.gather(meet(), meet())
    assert first == second
    async with store.transaction() as connection:
        assert await people.customer_for(connection, "web", "42") != first  # another channel
        count = select(func.count()).select_from(customers)
        assert (await connection.execute(count)).scalar() == 2
        assert (await connection.execute(select(func.count()).select_from(contacts))).scalar() == 2


async def test_a_channel_message_id_is_stored_once(store: Store) -> None:
    conversation = await conversation_for(store)
    assert conversation.id is not None

    def message(source_id: str | None, body: str = "hello") -> Message:
        return Message(
            conversation_id=conversation.id, author="customer", body=body,
            source="telegram", source_id=source_id,
        )  # fmt: skip

    async with store.transaction() as connection:
        assert await add_once(connection, message("update-1"))
        assert not await add_once(connection, message("update-1", body="a retried delivery"))
        assert await add_once(connection, message(None))  # our own messages have no channel id
        assert await add_once(connection, message(None))
        bodies = [m.body for m in await transcript(connection, conversation.id)]
    assert bodies == ["hello", "hello", "hello"]


async def test_a_desk_thread_maps_to_one_conversation(store: Store) -> None:
    first, second = await conversation_for(store), await conversation_for(store)
    assert first.id is not None
    assert second.id is not None
    await assign(store, first, "priya", T0)
    async with store.transaction() as connection:
        found = await stored.with_current_assignment(connection, first.id)
        assert found is not None
        current = found[1]
        assert current is not None
        assert current.id is not None
        await stored.add_thread(connection, Thread(conversation_id=first.id, assignment_id=current.id,
                                                   place="D0PRIYA", thread="1700000000.000100"))  # fmt: skip
        assert (
            await stored.conversation_for_thread(connection, "D0PRIYA", "1700000000.000100")
            == first.id
        )
        assert (await stored.conversation(connection, first.id)).thread_id is not None  # type: ignore[union-attr]
    with pytest.raises(IntegrityError):
        async with store.transaction() as connection:
            await add(connection, Thread(conversation_id=second.id, assignment_id=current.id,
                                         place="D0PRIYA", thread="1700000000.000100"))  # fmt: skip


async def test_a_thread_found_once_is_remembered(store: Store) -> None:
    conversation = await conversation_for(store)
    assignment = await assign(store, conversation, "priya", T0)
    threads = Threads(store, size=1)
    old = "1600000000.000001"  # long begun: a miss is not waited out

    async def thread(ts: str) -> None:
        async with store.transaction() as connection:
            await stored.add_thread(connection, Thread(conversation_id=key(conversation),
                                    assignment_id=key(assignment), place="D0PRIYA", thread=ts))  # fmt: skip

    assert await threads.conversation_of("D0PRIYA", old) is None  # not stored yet
    await thread(old)
    assert await threads.conversation_of("D0PRIYA", old) == conversation.id  # a miss is not kept
    async with store.transaction() as connection:
        await connection.execute(text("DELETE FROM desk_threads"))
    assert await threads.conversation_of("D0PRIYA", old) == conversation.id  # not read again
    await thread("1600000000.000002")
    assert await threads.conversation_of("D0PRIYA", "1600000000.000002") == conversation.id
    assert await threads.conversation_of("D0PRIYA", old) is None  # only the latest is kept


async def test_a_customer_has_one_open_conversation_at_a_time(store: Store) -> None:
    first = await conversation_for(store, "open")
    async with store.transaction() as connection:
        again = await stored.open_or_start(connection, first.customer_id, "telegram", utcnow())
    assert again.id == first.id
    assert again.channel == "telegram"  # replies go where the customer last wrote
    with pytest.raises(IntegrityError):
        async with store.transaction() as connection:
            await add(connection, Conversation(customer_id=first.customer_id, channel="web"))
    async with store.transaction() as connection:
        await change(connection, again, status="closed")
        fresh = await stored.open_or_start(
            connection, first.customer_id, "web", utcnow(), introduced=True
        )
    assert fresh.id != first.id
    assert fresh.introduced


async def test_two_instances_starting_a_conversation_at_once_agree(store: Store) -> None:
    first = await conversation_for(store, "closed")

    async def start() -> int | None:
        async with store.transaction() as connection:
            return (await stored.open_or_start(connection, first.customer_id, "web", utcnow())).id

    one, two = await asyncio.gather(start(), start())
    assert one == two


async def test_times_come_back_aware_and_in_utc(store: Store) -> None:
    conversation = await conversation_for(store)
    local = datetime(2026, 3, 29, 3, 30, tzinfo=UTC)
    await assign(store, conversation, "priya", local)
    async with store.reading() as connection:
        assert conversation.id is not None
        stored_assignment = await stored.latest_assignment(connection, conversation.id)
        customer = await people.customer(connection, conversation.customer_id)
    assert stored_assignment is not None
    assert stored_assignment.assigned_at == local
    assert stored_assignment.assigned_at.tzinfo is not None
    assert customer.created_at.tzinfo is not None


async def test_tags_round_trip(store: Store) -> None:
    async with store.transaction() as connection:
        made = await add(connection, Customer(name="Vip", tags=["vip", "b2b"]))
        assert made.id is not None
        assert (await people.customer(connection, made.id)).tags == ["vip", "b2b"]


async def test_roster_counts_open_conversations_last_assignment_and_away(store: Store) -> None:
    rows = [
        await conversation_for(store, status)
        for status in ("open", "waiting", "closed", "open", "triage")
    ]
    for conversation, employee, at in (
        (rows[2], "tomas", T0 - timedelta(days=1)),
        (rows[0], "priya", T0),
        (rows[1], "priya", T0 + timedelta(hours=1)),
        (rows[3], "sam", T0 - timedelta(hours=1)),
    ):
        await assign(store, conversation, employee, at)
    async with store.transaction() as connection:
        await change(connection, rows[2], status="closed")  # assign opened it
        await stored.set_away(connection, "lena", True, T0)
        await stored.set_away(connection, "sam", False, T0)
        roster = await stored.roster(connection)
    assert roster == {
        "lena": EmployeeState(away=True),
        "priya": EmployeeState(open_conversations=2, last_assigned_at=T0 + timedelta(hours=1)),
        "sam": EmployeeState(open_conversations=1, last_assigned_at=T0 - timedelta(hours=1)),
        "tomas": EmployeeState(open_conversations=0, last_assigned_at=T0 - timedelta(days=1)),
    }


async def test_a_reassignment_ends_the_previous_one(store: Store) -> None:
    conversation = await conversation_for(store)
    assert conversation.id is not None
    await assign(store, conversation, "priya", T0)
    await assign(store, conversation, "sam", T0 + timedelta(minutes=5))
    async with store.transaction() as connection:
        found = await stored.with_current_assignment(connection, conversation.id)
        assert found is not None
        read, current = found
        latest = await stored.latest_assignment(connection, conversation.id)
        first_reply = await stored.first_reply(
            connection, current, T0 + timedelta(minutes=7), OFFICE
        )
        after = await stored.with_current_assignment(connection, conversation.id)
        assert after is not None
        again = await stored.first_reply(connection, after[1], T0 + timedelta(minutes=9), OFFICE)
    assert read.id == conversation.id
    assert current is not None
    assert current == latest
    assert current.employee_id == "sam"
    assert first_reply == 120.0
    assert again is None  # the first reply was the one at 7 minutes


async def test_first_replies_keep_the_working_time_they_took(store: Store) -> None:
    """Monday 09:00 London: Priya answers one conversation in 10 minutes, and one from
    17:20 the next morning at 09:05 (15 minutes of work); Sam's and the unanswered one
    are not hers, and one from before the window is too old."""
    conversations = [await conversation_for(store) for _ in range(5)]
    started = [T0, T0 + timedelta(hours=8, minutes=20), T0, T0 + timedelta(hours=1),
               T0 - timedelta(days=40)]  # fmt: skip
    replied = [T0 + timedelta(minutes=10), T0 + timedelta(days=1, minutes=5), T0, None,
               T0 - timedelta(days=40) + timedelta(minutes=1)]  # fmt: skip
    who = ["priya", "priya", "sam", "priya", "priya"]
    for conversation, employee, at, reply in zip(conversations, who, started, replied, strict=True):
        await assign(store, conversation, employee, at)
        if reply is not None:
            async with store.transaction() as connection:
                found = await stored.with_current_assignment(connection, conversation.id or 0)
                assert found is not None
                await stored.first_reply(connection, found[1], reply, OFFICE)
    since = T0 - timedelta(days=30)
    async with store.reading() as connection:
        times = await stored.reply_times(connection, ["priya"], since, limit=10)
        both = await stored.reply_times(connection, ["priya", "sam"], since, limit=10)
        newest = await stored.reply_times(connection, ["priya"], since, limit=1)
        unanswered = await stored.unanswered_by(connection, conversations[3].id or 0)
    assert times == [("priya", 900.0), ("priya", 600.0)]
    assert sorted(both) == [("priya", 600.0), ("priya", 900.0), ("sam", 0.0)]
    assert newest == [("priya", 900.0)]
    assert unanswered == {"priya"}


async def test_previous_employee_is_the_customers_latest_assignment(store: Store) -> None:
    mine = await conversation_for(store, "closed")
    theirs = await conversation_for(store, "open")
    async with store.transaction() as connection:
        later = await add(connection, Conversation(customer_id=mine.customer_id, channel="telegram",
                                                   status="closed"))  # fmt: skip
    await assign(store, mine, "sam", T0)
    await assign(store, later, "priya", T0 + timedelta(days=2))
    await assign(store, theirs, "lena", T0 + timedelta(days=3))
    async with store.reading() as connection:
        assert await stored.previous_employee(connection, mine.customer_id) == "priya"
        assert await stored.previous_employee(connection, theirs.customer_id) == "lena"
        assert await stored.previous_employee(connection, 999) is None


async def test_a_link_code_joins_two_customers_once_and_expires(store: Store) -> None:
    site = await conversation_for(store, "open")
    chat = await conversation_for(store, "open")
    async with store.transaction() as connection:
        code = await people.new_link_code(connection, site.customer_id, T0)
        stale = await people.new_link_code(connection, site.customer_id, T0 - timedelta(hours=1))
    async with store.transaction() as connection:
        assert await people.link_customers(connection, stale, chat.customer_id, T0) is None
        assert (
            await people.link_customers(connection, code, chat.customer_id, T0) == site.customer_id
        )
        assert await people.link_customers(connection, code, chat.customer_id, T0) is None  # used
        moved = await stored.conversation(connection, chat.id or 0)
        kept = await stored.open_conversation(connection, site.customer_id)
    assert moved is not None
    assert moved.customer_id == site.customer_id
    assert moved.status == "closed"  # one open conversation: the site's carries on
    assert kept is not None
    assert kept.id == site.id


async def test_sqlite_uses_wal(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    store = Store(database_url)
    async with store.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    await store.close()


async def test_sqlite_commits_on_the_loop_while_the_disk_is_quick(tmp_path: Path) -> None:
    """A hop to a worker thread costs more than a quick disk's commit; a slow disk's
    commits go to the thread (the loop serves others meanwhile), and come back after."""
    file = SqliteFile(make_url(f"sqlite:///{tmp_path / 'quick.db'}"))
    loop_thread, slow = threading.get_ident(), False
    on_the_loop: list[bool] = []

    def traced(statement: str) -> None:
        if statement == "COMMIT":
            on_the_loop.append(threading.get_ident() == loop_thread)
            if slow:
                time.sleep(0.005)  # a disk that takes 5 ms to make a commit durable

    dbapi = file.connection().connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA synchronous=OFF")  # the quick disk: whatever this machine's is
    dbapi.set_trace_callback(traced)

    async def commit(times: int) -> list[bool]:
        on_the_loop.clear()
        for _ in range(times):
            async with file.transaction() as connection:
                await connection.execute(text("SELECT 1"))
        return on_the_loop[:]

    try:
        assert await commit(3) == [True, True, True]
        slow = True
        assert (await commit(8))[-3:] == [False, False, False]
        slow = False
        assert (await commit(12))[-3:] == [True, True, True]
    finally:
        file.close()


async def test_conversations_keep_starting_once_postgresql_plans_generically(
    store: Store,
) -> None:
    """From its sixth run PostgreSQL may plan a prepared statement without its values:
    the partial unique index must still be found for `ON CONFLICT`."""
    for i in range(8):
        async with store.transaction() as connection:
            customer = await people.customer_for(connection, "web", f"visitor-{i}")
            assert (
                await stored.open_or_start(connection, customer, "web", utcnow())
            ).id is not None
