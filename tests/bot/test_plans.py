"""PostgreSQL's statements run on the driver (bot/store/plans.py) read and fail as they do
through SQLAlchemy, and inside the same transactions."""

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store import Store
from bot.store.rows import add, key, model
from bot.tables import Conversation, Customer, contacts, table
from tests.conftest import PostgresDatabase

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
conversations = table(Conversation)
SHELVE = update(conversations).values(status="closed")
AMONG = (
    select(conversations.c.id)
    .where(conversations.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(conversations.c.id)
)
ADD_CONTACT = insert(contacts)  # created_at: the column's default, made in Python


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with PostgresDatabase(admin_url) as url:
        store = Store(url)
        await store.upgrade()
        yield store
        await store.close()


async def started(store: Store, **fields: Any) -> Conversation:
    async with store.transaction() as connection:
        customer = key(await add(connection, Customer(name="Ada")))
        return await add(connection, Conversation(customer_id=customer, channel="web", **fields))


async def test_a_statement_run_again_is_planned_and_reads_the_same(store: Store) -> None:
    stored = await started(store, confidence=0.75, entities={"order": "A-1"}, created_at=T0)
    statement = select(conversations).where(conversations.c.id == stored.id)
    async with store.transaction() as connection:
        plans = connection.plans  # type: ignore[attr-defined]
        first = (await connection.execute(statement)).one()  # through SQLAlchemy
        again = (await connection.execute(statement)).one()  # the second run: planned
        assert plans.plan(statement, None) is not None
    assert again == first
    read = model(Conversation, again)
    assert (read.confidence, read.entities, read.created_at) == (0.75, {"order": "A-1"}, T0)
    assert read.created_at.tzinfo is UTC


async def test_an_update_counts_its_rows_and_a_failed_transaction_leaves_nothing(
    store: Store,
) -> None:
    for _ in range(3):
        await started(store)
    counted = []

    async def shelve_then_fail() -> None:
        async with store.transaction() as connection:
            for _ in range(2):  # the second is planned
                counted.append((await connection.execute(SHELVE)).rowcount)
            raise RuntimeError("after the update")

    with pytest.raises(RuntimeError):
        await shelve_then_fail()
    assert counted == [3, 3]
    async with store.reading() as connection:
        statuses = (await connection.execute(select(conversations.c.status))).scalars()
        assert set(statuses) == {"triage"}


async def test_a_broken_rule_raises_as_through_sqlalchemy_and_the_connection_goes_on(
    store: Store,
) -> None:
    stored = await started(store)
    for _ in range(2):  # the second is planned
        with pytest.raises(IntegrityError):
            async with store.transaction() as connection:
                await add(connection, Conversation(customer_id=stored.customer_id, channel="web"))
    # The connection the error was on was rolled back, not left in a failed transaction.
    assert (await started(store)).id is not None


async def test_a_list_and_a_default_made_in_python_are_planned_too(store: Store) -> None:
    first, second = await started(store), await started(store)
    async with store.transaction() as connection:
        for ids in ([first.id], [first.id, second.id], [second.id, first.id]):
            found = (await connection.execute(AMONG, {"ids": ids})).scalars().all()
            assert found == sorted(ids)  # type: ignore[type-var]
        for address in ("ada@example.com", "ada@example.org"):
            contact = {"customer_id": first.customer_id, "channel": "web", "address": address}
            await connection.execute(ADD_CONTACT, contact)
        plans = connection.plans  # type: ignore[attr-defined]
        assert plans.plan(AMONG, {"ids": []}) is not None
        assert plans.plan(ADD_CONTACT, contact) is not None
        made = (await connection.execute(select(contacts.c.created_at))).scalars().all()
    assert len(set(made)) == 2  # made for each row, not once for the plan
    assert all(at.tzinfo is UTC for at in made)
