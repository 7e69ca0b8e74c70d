from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.store import Store, async_url
from bot.tables import (
    Assignment,
    Contact,
    Conversation,
    Customer,
    EmployeeStatus,
    Message,
    SlackThread,
)
from routing import EmployeeState

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(database_url)
    await store.create_schema()
    yield store
    await store.close()


async def add(store: Store, *rows: object) -> None:
    async with store.session() as session:
        session.add_all(rows)
        await session.commit()


async def customer_with_conversation(
    store: Store, status: str = "open", employee: str | None = None
) -> Conversation:
    async with store.session() as session:
        customer = Customer(name="Ada")
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        conversation = Conversation(
            customer_id=customer.id, channel="web", status=status, employee_id=employee
        )
        session.add(conversation)
        await session.commit()
        return conversation


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


async def test_schema_creation_is_idempotent(store: Store) -> None:
    await store.create_schema()
    await customer_with_conversation(store)
    await store.create_schema()
    async with store.session() as session:
        assert len((await session.exec(select(Customer))).all()) == 1


async def test_a_contact_address_belongs_to_one_customer(store: Store) -> None:
    conversation = await customer_with_conversation(store)
    await add(
        store, Contact(customer_id=conversation.customer_id, channel="telegram", address="42")
    )
    with pytest.raises(IntegrityError):
        await add(
            store, Contact(customer_id=conversation.customer_id, channel="telegram", address="42")
        )
    await add(store, Contact(customer_id=conversation.customer_id, channel="web", address="42"))
    async with store.session() as session:
        assert len((await session.exec(select(Contact))).all()) == 2


async def test_a_channel_message_id_is_stored_once(store: Store) -> None:
    conversation = await customer_with_conversation(store)
    assert conversation.id is not None

    def message(source_id: str | None, body: str = "hello") -> Message:
        return Message(
            conversation_id=conversation.id,
            author="customer",
            body=body,
            source="telegram",
            source_id=source_id,
        )

    await add(store, message("update-1"))
    with pytest.raises(IntegrityError):
        await add(store, message("update-1", body="a retried delivery"))
    await add(store, message(None), message(None))  # our own messages have no channel id
    async with store.session() as session:
        bodies = (await session.exec(select(Message.body))).all()
    assert sorted(bodies) == ["hello", "hello", "hello"]


async def test_a_slack_thread_maps_to_one_conversation(store: Store) -> None:
    first = await customer_with_conversation(store)
    second = await customer_with_conversation(store)
    assignment = Assignment(conversation_id=first.id, employee_id="priya")
    await add(store, assignment)
    await add(
        store,
        SlackThread(
            conversation_id=first.id,
            channel="D0PRIYA",
            ts="1700000000.000100",
            assignment_id=assignment.id,
        ),
    )
    with pytest.raises(IntegrityError):
        await add(
            store,
            SlackThread(
                conversation_id=second.id,
                channel="D0PRIYA",
                ts="1700000000.000100",
                assignment_id=assignment.id,
            ),
        )


async def test_a_customer_has_one_open_conversation_at_a_time(store: Store) -> None:
    first = await customer_with_conversation(store, "open")
    with pytest.raises(IntegrityError):
        await add(
            store, Conversation(customer_id=first.customer_id, channel="telegram", status="triage")
        )
    async with store.session() as session:
        first.status = "closed"
        session.add(first)
        await session.commit()
    await add(
        store,
        Conversation(customer_id=first.customer_id, channel="telegram", status="triage"),
        Conversation(customer_id=first.customer_id, channel="web", status="closed"),
    )


async def test_times_come_back_aware_and_in_utc(store: Store) -> None:
    conversation = await customer_with_conversation(store)
    assert conversation.id is not None
    local = datetime(2026, 3, 29, 3, 30, tzinfo=UTC)
    await add(
        store, Assignment(conversation_id=conversation.id, employee_id="priya", assigned_at=local)
    )
    async with store.session() as session:
        stored = (await session.exec(select(Assignment))).one()
        customer = (await session.exec(select(Customer))).one()
    assert stored.assigned_at == local
    assert stored.assigned_at.tzinfo is not None
    assert customer.created_at.tzinfo is not None


async def test_tags_round_trip(store: Store) -> None:
    await add(store, Customer(name="Vip", tags=["vip", "b2b"]))
    async with store.session() as session:
        assert (await session.exec(select(Customer))).one().tags == ["vip", "b2b"]


async def test_roster_counts_open_conversations_last_assignment_and_away(store: Store) -> None:
    rows = []
    for status, employee in [
        ("open", "priya"),
        ("waiting", "priya"),
        ("closed", "priya"),
        ("open", "sam"),
        ("triage", None),
    ]:
        rows.append(await customer_with_conversation(store, status, employee))
    await add(
        store,
        Assignment(conversation_id=rows[0].id, employee_id="priya", assigned_at=T0),
        Assignment(
            conversation_id=rows[1].id, employee_id="priya", assigned_at=T0 + timedelta(hours=1)
        ),
        Assignment(
            conversation_id=rows[2].id, employee_id="tomas", assigned_at=T0 - timedelta(days=1)
        ),
        EmployeeStatus(employee_id="lena", away=True),
        EmployeeStatus(employee_id="sam", away=False),
    )
    assert await store.roster() == {
        "lena": EmployeeState(away=True),
        "priya": EmployeeState(open_conversations=2, last_assigned_at=T0 + timedelta(hours=1)),
        "sam": EmployeeState(open_conversations=1),
        "tomas": EmployeeState(open_conversations=0, last_assigned_at=T0 - timedelta(days=1)),
    }


async def test_previous_employee_is_the_customers_latest_assignment(store: Store) -> None:
    mine = await customer_with_conversation(store, "closed", "sam")
    theirs = await customer_with_conversation(store, "open", "lena")
    async with store.session() as session:
        later = Conversation(
            customer_id=mine.customer_id, channel="telegram", status="closed", employee_id="priya"
        )
        session.add(later)
        await session.commit()
    await add(
        store,
        Assignment(conversation_id=mine.id, employee_id="sam", assigned_at=T0),
        Assignment(
            conversation_id=later.id, employee_id="priya", assigned_at=T0 + timedelta(days=2)
        ),
        Assignment(
            conversation_id=theirs.id, employee_id="lena", assigned_at=T0 + timedelta(days=3)
        ),
    )
    assert await store.previous_employee(mine.customer_id) == "priya"
    assert await store.previous_employee(theirs.customer_id) == "lena"
    assert await store.previous_employee(999) is None


async def test_sqlite_uses_wal(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    store = Store(database_url)
    async with store.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    await store.close()
