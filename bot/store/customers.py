"""Customers, the contacts that reach them, and the one-time codes that join a
customer's identities on two channels into one."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update

from bot.store import Connection
from bot.store.conversations import last_employee, open_conversation
from bot.store.rows import add, ignoring, key, model, split
from bot.tables import (
    Customer,
    LinkCode,
    contacts,
    conversations,
    customers,
    facts,
    link_codes,
    utcnow,
)

LINK_VALIDITY = timedelta(minutes=30)

_BY_CONTACT = select(contacts.c.customer_id).where(
    contacts.c.channel == bindparam("channel"), contacts.c.address == bindparam("address")
)
_ADD_CONTACT = ignoring(contacts, "channel", "address")
_OWNER = (
    select(contacts.c.customer_id, customers.c.verified)
    .join(customers, customers.c.id == contacts.c.customer_id)
    .where(contacts.c.channel == bindparam("channel"), contacts.c.address == bindparam("address"))
)
_VERIFY = (
    update(customers)
    .where(customers.c.id == bindparam("customer"))
    .values(
        verified=True,
        name=func.coalesce(bindparam("given_name"), customers.c.name),
        email=func.coalesce(bindparam("given_email"), customers.c.email),
    )
)
_CUSTOMER = select(customers).where(customers.c.id == bindparam("id"))
_CUSTOMER_AND_PREVIOUS = _CUSTOMER.add_columns(
    last_employee(customers.c.id).scalar_subquery().label("previous")
)
_ADDRESS = (
    select(contacts.c.address)
    .where(
        contacts.c.customer_id == bindparam("customer"), contacts.c.channel == bindparam("channel")
    )
    .order_by(contacts.c.id.desc())
    .limit(1)
)


async def customer_by_contact(connection: Connection, channel: str, address: str) -> int | None:
    found = await connection.execute(_BY_CONTACT, {"channel": channel, "address": address})
    return found.scalar()


async def customer_for(
    connection: Connection,
    channel: str,
    address: str,
    *,
    name: str | None = None,
    language: str | None = None,
) -> int:
    """The customer behind a channel's address, made on first contact. Safe when two
    instances meet a new customer at once: one contact wins, the other's customer row
    is dropped within the same transaction."""
    known = await customer_by_contact(connection, channel, address)
    if known is not None:
        return known
    fresh = Customer(
        name=name, language=language, tags=[], created_at=utcnow()
    )  # see open_or_start
    customer = await add(connection, fresh)
    contact = {"customer_id": customer.id, "channel": channel, "address": address}
    if (await connection.execute(_ADD_CONTACT(connection), contact)).first() is not None:
        return key(customer)
    await connection.execute(delete(customers).where(customers.c.id == customer.id))
    winner = await customer_by_contact(connection, channel, address)
    assert winner is not None
    return winner


async def writes_in(connection: Connection, customer_id: int, language: str) -> None:
    """The language the customer writes in, as the NLU read it: it replaces what the
    channel said (an app's display language), since that is who can answer them."""
    change = update(customers).where(customers.c.id == customer_id).values(language=language)
    await connection.execute(change)


async def owner(connection: Connection, channel: str, address: str) -> tuple[int, bool] | None:
    """The customer behind a contact, and whether the company's site vouched for them."""
    found = (await connection.execute(_OWNER, {"channel": channel, "address": address})).first()
    return (found.customer_id, found.verified) if found is not None else None


async def vouched_for(
    connection: Connection,
    channel: str,
    address: str,
    *,
    name: str | None,
    email: str | None,
    joining: int | None,
) -> int:
    """The customer the company's site vouches for at `address` (its id for them): the
    one who has that contact already; else `joining`, an unverified customer the same
    visitor has been so far; else a new one. Marked verified, with the site's name and
    email for them."""
    known = await customer_by_contact(connection, channel, address)
    if known is None and joining is not None:
        contact = {"customer_id": joining, "channel": channel, "address": address}
        if (await connection.execute(_ADD_CONTACT(connection), contact)).first() is not None:
            known = joining
    if known is None:
        known = await customer_for(connection, channel, address)
    await connection.execute(_VERIFY, {"customer": known, "given_name": name, "given_email": email})
    return known


async def add_contact(connection: Connection, customer_id: int, channel: str, address: str) -> None:
    contact = {"customer_id": customer_id, "channel": channel, "address": address}
    await connection.execute(_ADD_CONTACT(connection), contact)


async def customer(connection: Connection, customer_id: int) -> Customer:
    return model(Customer, (await connection.execute(_CUSTOMER, {"id": customer_id})).one())


async def customer_and_previous(
    connection: Connection, customer_id: int
) -> tuple[Customer, str | None]:
    """The customer, and who was last assigned to one of their conversations: what
    routing needs of them, in one statement (read on every handoff)."""
    row = (await connection.execute(_CUSTOMER_AND_PREVIOUS, {"id": customer_id})).one()
    found = split(row, customers)[0]
    assert found is not None
    return model(Customer, found), row.previous


async def address_of(connection: Connection, customer_id: int, channel: str) -> str | None:
    """Where a customer is reached on a channel (the newest contact if several)."""
    found = await connection.execute(_ADDRESS, {"customer": customer_id, "channel": channel})
    return found.scalar()


async def new_link_code(connection: Connection, customer_id: int, now: datetime) -> str:
    """A one-time code (about 96 bits) that links this customer to another channel."""
    code = secrets.token_urlsafe(12)
    record = LinkCode(code=code, customer_id=customer_id, expires_at=now + LINK_VALIDITY)
    await connection.execute(link_codes.insert().values(record.model_dump()))
    return code


async def link_customers(
    connection: Connection, code: str, other_id: int, now: datetime
) -> int | None:
    """Join the customer who asked for `code` and `other_id` into one (the former), if
    the code is unused and unexpired. Returns that customer."""
    claimed = await connection.execute(
        update(link_codes)
        .where(link_codes.c.code == code, link_codes.c.used_at.is_(None))
        .where(link_codes.c.expires_at > now)
        .values(used_at=now)
        .returning(link_codes.c.customer_id)
    )
    keeper: int | None = claimed.scalar()
    if keeper is None or keeper == other_id:
        return keeper
    kept, other = await customer(connection, keeper), await customer(connection, other_id)
    await connection.execute(
        update(customers)
        .where(customers.c.id == keeper)
        .values(
            name=kept.name or other.name,
            language=kept.language or other.language,
            tags=sorted(set(kept.tags) | set(other.tags)),
        )
    )
    if await open_conversation(connection, keeper) is not None:
        # One open conversation per customer: the one the keeper has carries on.
        await connection.execute(
            update(conversations)
            .where(conversations.c.customer_id == other_id, conversations.c.status != "closed")
            .values(status="closed", closed_at=now)
        )
    for rows in (contacts, conversations, facts):
        await connection.execute(
            update(rows).where(rows.c.customer_id == other_id).values(customer_id=keeper)
        )
    await connection.execute(delete(customers).where(customers.c.id == other_id))
    return int(keeper)


def display_name(record: Customer) -> str:
    """How employees see a customer who has not told us their name."""
    return record.name or f"Visitor #{record.id}"
