"""Rows in and out of the tables without the ORM's session. A model is built from a row
(its values are already valid) and inserted from a model (which fills in the defaults),
so the models stay the one description of each record. Statements are built once and
run with parameters: building one costs SQLAlchemy about 70 µs, running it 30."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Row, Table, Update, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
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


def split(row: Row[Any], *tables: Table) -> list[dict[str, Any] | None]:
    """A row of a join, as one mapping per table (None for an outer join's missing row)."""
    parts: list[dict[str, Any] | None] = []
    start = 0
    for target in tables:
        width = len(target.c)
        part = dict(zip(target.c.keys(), row[start : start + width], strict=True))
        parts.append(None if part["id"] is None else part)
        start += width
    return parts


def key(record: SQLModel) -> int:
    """A stored record's id."""
    found = getattr(record, "id", None)
    assert isinstance(found, int), f"{type(record).__name__} is not stored yet"
    return found


def values(record: SQLModel) -> dict[str, Any]:
    """A model's columns, without an id the database is to choose."""
    return {k: v for k, v in record.model_dump().items() if not (k == "id" and v is None)}


@cache
def _inserting(target: Table) -> Insert:
    return insert(target).returning(target.c.id)


async def add(connection: Connection, record: Model) -> Model:
    """Insert a record; returns it with its id."""
    result = await connection.execute(_inserting(table(type(record))), values(record))
    record.id = result.scalar_one()
    return record


@cache
def _updating(target: Table, columns: tuple[str, ...]) -> Update:
    return (
        update(target)
        .where(target.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


async def change(connection: Connection, record: Model, **changes: Any) -> None:
    """Update some of a stored record's columns, in the database and on `record`."""
    statement = _updating(table(type(record)), tuple(sorted(changes)))
    new = {f"new_{name}": value for name, value in changes.items()}
    await connection.execute(statement, {"row_id": key(record), **new})
    for name, value in changes.items():
        setattr(record, name, value)


def per_dialect(build: Callable[[Any], Insert]) -> Callable[[Connection], Insert]:
    """A statement that SQLAlchemy spells per dialect (`ON CONFLICT` clauses), built
    once for each; `build` gets the dialect's module (sqlalchemy.dialects.sqlite or
    .postgresql)."""
    built = {
        name: build(module) for name, module in (("sqlite", sqlite), ("postgresql", postgresql))
    }
    return lambda connection: built[connection.dialect.name]


def ignoring(target: Table, *conflict: str, **where: Any) -> Callable[[Connection], Insert]:
    """`INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING id`."""

    def build(dialect: Any) -> Insert:
        statement = dialect.insert(target).on_conflict_do_nothing(
            index_elements=list(conflict), **where
        )
        return cast(Insert, statement.returning(target.c.id))

    return per_dialect(build)


def upserting(target: Table, key_column: str, *changing: str) -> Callable[[Connection], Insert]:
    """`INSERT ... ON CONFLICT (key_column) DO UPDATE` setting the `changing` columns."""

    def build(dialect: Any) -> Insert:
        statement = dialect.insert(target)
        return cast(
            Insert,
            statement.on_conflict_do_update(
                index_elements=[key_column],
                set_={name: statement.excluded[name] for name in changing},
            ),
        )

    return per_dialect(build)
