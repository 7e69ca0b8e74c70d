"""Rows in and out of the tables without the ORM's session: a model is built from a
row (its values are already valid) and inserted from a model (which fills in the
defaults), so the models stay the one description of each record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel

from bot.store import Connection
from bot.tables import table

Model = TypeVar("Model", bound=SQLModel)


def model(cls: type[Model], row: Row[Any] | Mapping[str, Any]) -> Model:
    """A record from a row (all its columns), made as SQLAlchemy makes the ORM's: no
    validation, about 2 µs instead of 30, and usable as any model is."""
    values = row._mapping if isinstance(row, Row) else row
    record = cls._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    record.__dict__.update(values)
    object.__setattr__(record, "__pydantic_fields_set__", set(values.keys()))
    return cast(Model, record)


def models(cls: type[Model], rows: Sequence[Row[Any]]) -> list[Model]:
    return [model(cls, row) for row in rows]


def key(record: SQLModel) -> int:
    """A stored record's id."""
    found = getattr(record, "id", None)
    assert isinstance(found, int), f"{type(record).__name__} is not stored yet"
    return found


def values(record: SQLModel) -> dict[str, Any]:
    """A model's columns, without an id the database is to choose."""
    return {k: v for k, v in record.model_dump().items() if not (k == "id" and v is None)}


async def add(connection: Connection, record: Model) -> Model:
    """Insert a record; returns it with its id."""
    target = table(type(record))
    result = await connection.execute(insert(target).values(values(record)).returning(target.c.id))
    record.id = result.scalar_one()
    return record


def insert_or_ignore(connection: Connection, target: Table, *conflict: str, **where: Any) -> Insert:
    """`INSERT ... ON CONFLICT DO NOTHING` on the conflict target given (both backends
    have it; SQLAlchemy spells it per dialect)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement: Any = dialect.insert(target)
    return statement.on_conflict_do_nothing(index_elements=list(conflict), **where)  # type: ignore[no-any-return]


def upsert(
    connection: Connection, target: Table, key: str, row: dict[str, Any], *update: str
) -> Insert:
    """`INSERT ... ON CONFLICT (key) DO UPDATE` setting the `update` columns."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement: Any = dialect.insert(target).values(row)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[key], set_={name: statement.excluded[name] for name in update}
    )
