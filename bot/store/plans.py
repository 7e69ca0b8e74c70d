"""Statements run on asyncpg directly, for PostgreSQL's hot path: SQLAlchemy compiles a
statement once, and each run after that is its SQL and parameters handed to the driver,
rows back as SQLAlchemy's. Through SQLAlchemy's own asyncio layer a short statement cost
the app about 0.16 ms of CPU, on the driver 0.06; a reply takes a dozen of them.

Only statements built once and run again (the store's are, see rows.py) are planned:
one is compiled the second time the same object runs. Anything a plan does not cover
(a statement built for one run, `IN` over a list, defaults computed in Python, several
rows of parameters) runs through SQLAlchemy as before, on the same connection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    Column,
    ColumnElement,
    Dialect,
    Executable,
    Float,
    Numeric,
    SelectBase,
    TextClause,
)
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import UpdateBase

from bot.latest import Latest

Processor = Callable[[Any], Any] | None
_SEEN = 1000  # statements run once, remembered in case they run again
_FLOAT8, _NUMERIC = 701, 1700  # PostgreSQL's type ids


class Rows(IteratorResult[Any]):
    """A plan's result, read as SQLAlchemy's (first, one, scalar, all, rowcount...)."""

    def __init__(self, keys: Sequence[str], rows: list[tuple[Any, ...]], rowcount: int) -> None:
        super().__init__(SimpleResultMetaData(keys), iter(rows))
        self.rowcount = rowcount


@dataclass(frozen=True)
class Plan:
    sql: str
    parameters: tuple[tuple[str, Any, Processor], ...]  # in order: name, default, processor
    columns: tuple[tuple[str, Processor], ...] | None  # what it returns; None: its status
    named_by_driver: bool  # textual SQL: the rows' own names

    async def run(self, driver: asyncpg.Connection, given: Mapping[str, Any]) -> Rows:
        args = []
        for name, default, process in self.parameters:
            value = given.get(name, default)
            args.append(value if process is None else process(value))
        try:
            if self.columns is None:
                status = await driver.execute(self.sql, *args)
                count = status.rpartition(" ")[2]
                return Rows((), [], int(count) if count.isdigit() else -1)
            records = await driver.fetch(self.sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:  # as SQLAlchemy raises it
            raise IntegrityError(self.sql, args, exc) from exc
        if self.named_by_driver:
            keys = tuple(records[0].keys()) if records else ()
            return Rows(keys, [tuple(r) for r in records], len(records))
        processors = [p for _, p in self.columns]
        if any(processors):
            rows = [
                tuple(v if p is None else p(v) for v, p in zip(r, processors, strict=True))
                for r in records
            ]
        else:
            rows = [tuple(r) for r in records]
        return Rows([k for k, _ in self.columns], rows, len(records))


class Plans:
    """The plans of one dialect, by statement and the names of the parameters given."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._plans: dict[tuple[Executable, tuple[str, ...]], Plan | None] = {}
        self._seen: Latest[tuple[Executable, tuple[str, ...]], None] = Latest(_SEEN)

    def plan(self, statement: Executable, parameters: Any) -> Plan | None:
        """The plan to run `statement` with, or None: run it through SQLAlchemy."""
        if parameters is not None and not isinstance(parameters, Mapping):
            return None  # several rows of parameters
        key = (statement, tuple(parameters or ()))
        if key in self._plans:
            return self._plans[key]
        if key not in self._seen:
            self._seen.put(key, None)
            return None
        found = self._plans[key] = self._compile(statement, key[1])
        return found

    def _compile(self, statement: Executable, names: tuple[str, ...]) -> Plan | None:
        dialect = self.dialect
        if not isinstance(statement, SelectBase | UpdateBase | TextClause):
            return None
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        if (
            compiled.positiontup is None
            or "POSTCOMPILE" in compiled.string
            or getattr(compiled, "insert_prefetch", None)
            or getattr(compiled, "update_prefetch", None)
        ):
            return None
        parameters = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.required and name not in names:
                return None  # SQLAlchemy says which is missing
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            parameters.append((name, bind.effective_value, processor))
        textual = isinstance(statement, TextClause)
        columns: tuple[tuple[str, Processor], ...] | None = () if textual else None
        returned = None
        if isinstance(statement, SelectBase):
            returned = statement.selected_columns
        elif isinstance(statement, UpdateBase) and len(statement.exported_columns):
            returned = statement.exported_columns
        if returned is not None and (columns := self._columns(returned)) is None:
            return None
        return Plan(compiled.string, tuple(parameters), columns, textual)

    def _columns(
        self, columns: Iterable[ColumnElement[Any]]
    ) -> tuple[tuple[str, Processor], ...] | None:
        found: list[tuple[str, Processor]] = []
        for column in columns:
            impl = column.type.dialect_impl(self.dialect)
            kind = None
            if isinstance(impl, Float | Numeric):
                # SQLAlchemy converts a number or not by the type the driver reports: a
                # table's column is what its type says; an expression (avg) may not be.
                if not isinstance(column, Column):
                    return None
                kind = _FLOAT8 if isinstance(impl, Float) else _NUMERIC
            found.append((str(column.key), impl.result_processor(self.dialect, kind)))
        return tuple(found)
