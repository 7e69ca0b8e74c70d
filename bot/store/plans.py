"""Statements run on asyncpg directly, for PostgreSQL's hot path: SQLAlchemy compiles a
statement once, and each run after that is its SQL and parameters handed to the driver,
rows back as SQLAlchemy's. Through SQLAlchemy's own asyncio layer a short statement cost
the app about 0.16 ms of CPU, on the driver 0.06; a reply takes a dozen of them.

Only statements built once and run again (the store's are, see rows.py) are planned:
one is compiled the second time the same object runs. Anything a plan does not cover
(a statement built for one run, a number computed by an expression, a default the
database makes, several rows of parameters for a statement that returns rows) runs
through SQLAlchemy as before, on the same connection and in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from sqlalchemy.schema import ColumnDefault
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from bot.latest import Latest

Processor = Callable[[Any], Any] | None
_SEEN = 1000  # statements run once, remembered in case they run again
# Plans kept: the store has a few hundred statements; a statement built for one call
# and run twice in it is planned too, and must not be kept forever.
_KEPT = 2000
_FLOAT8, _NUMERIC = 701, 1700  # PostgreSQL's type ids


class Rows(IteratorResult[Any]):
    """A plan's result, read as SQLAlchemy's (first, one, scalar, all, rowcount...)."""

    def __init__(self, keys: Sequence[str], rows: list[tuple[Any, ...]], rowcount: int) -> None:
        super().__init__(SimpleResultMetaData(keys), iter(rows))
        self.rowcount = rowcount


@dataclass(frozen=True)
class Made:
    """A parameter's default made for each run (a column's default in Python)."""

    make: Callable[[], Any]


@dataclass(frozen=True)
class Plan:
    sql: str
    parameters: tuple[tuple[str, Any, Processor], ...]  # in order: name, default, processor
    columns: tuple[tuple[str, Processor], ...] | None  # what it returns; None: its status
    named_by_driver: bool  # textual SQL: the rows' own names
    # `IN` over a list: the SQL has a place for each item, so it is made for each run
    expanding: SQLCompiler | None = None
    processors: Mapping[str, Processor] = field(default_factory=dict)  # by name, if expanding

    async def run(self, driver: asyncpg.Connection, given: Mapping[str, Any]) -> Rows:
        sql, args = self._expanded(given) if self.expanding else (self.sql, self._args(given))
        try:
            if self.columns is None:
                status = await driver.execute(sql, *args)
                count = status.rpartition(" ")[2]
                return Rows((), [], int(count) if count.isdigit() else -1)
            records = await driver.fetch(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:  # as SQLAlchemy raises it
            raise IntegrityError(sql, args, exc) from exc
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

    @property
    def runs_many(self) -> bool:
        """Whether it can run once for each of several rows of parameters."""
        return self.columns is None and self.expanding is None

    async def run_many(self, driver: asyncpg.Connection, given: list[Mapping[str, Any]]) -> Rows:
        """The statement once for each row of parameters (it returns nothing)."""
        assert self.runs_many
        try:
            await driver.executemany(self.sql, [self._args(each) for each in given])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(self.sql, given, exc) from exc
        return Rows((), [], -1)

    def _args(self, given: Mapping[str, Any]) -> list[Any]:
        args = []
        for name, default, process in self.parameters:
            value = given.get(name, default)
            if isinstance(value, Made):
                value = value.make()
            args.append(value if process is None else process(value))
        return args

    def _expanded(self, given: Mapping[str, Any]) -> tuple[str, list[Any]]:
        compiled = self.expanding
        assert compiled is not None
        state = compiled.construct_expanded_state(compiled.construct_params(given))
        args = []
        for name, value in zip(state.positiontup or (), state.positional_parameters, strict=True):
            process = state.processors.get(name) or self.processors.get(name)
            args.append(value if process is None else process(value))
        return state.statement, args


class Plans:
    """The plans of one dialect, by statement and the names of the parameters given."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._plans: Latest[tuple[Executable, tuple[str, ...]], Plan | None] = Latest(_KEPT)
        self._seen: Latest[tuple[Executable, tuple[str, ...]], None] = Latest(_SEEN)

    def plan(self, statement: Executable, parameters: Any) -> Plan | None:
        """The plan to run `statement` with, or None: run it through SQLAlchemy."""
        if isinstance(parameters, list):  # several rows: a plan that returns nothing
            many = self.plan(statement, parameters[0]) if parameters else None
            return many if many is not None and many.runs_many else None
        key = (statement, tuple(parameters or ()))
        if key in self._plans:
            return self._plans.get(key)
        if key not in self._seen:
            self._seen.put(key, None)
            return None
        found = self._compile(statement, key[1])
        self._plans.put(key, found)
        return found

    def _compile(self, statement: Executable, names: tuple[str, ...]) -> Plan | None:
        dialect = self.dialect
        if not isinstance(statement, SelectBase | UpdateBase | TextClause):
            return None
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            return None
        expanding = "POSTCOMPILE" in compiled.string
        made = {column.key: column.default for column in compiled.insert_prefetch}
        if compiled.update_prefetch or (made and expanding):
            return None
        parameters = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            default = bind.effective_value
            if name in made:
                if (default := _made(made[name])) is None:
                    return None
            elif bind.required and name not in names:
                return None  # SQLAlchemy says which is missing
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            parameters.append((name, default, processor))
        textual = isinstance(statement, TextClause)
        columns: tuple[tuple[str, Processor], ...] | None = () if textual else None
        returned = None
        if isinstance(statement, SelectBase):
            returned = statement.selected_columns
        elif isinstance(statement, UpdateBase) and len(statement.exported_columns):
            returned = statement.exported_columns
        if returned is not None and (columns := self._columns(returned)) is None:
            return None
        if not expanding:
            return Plan(compiled.string, tuple(parameters), columns, textual)
        processors = {name: process for name, _, process in parameters}
        return Plan(compiled.string, tuple(parameters), columns, textual, compiled, processors)

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


def _made(default: Any) -> Made | None:
    """A column's default as SQLAlchemy makes it in Python (a value, or a function
    called for each row); None for one the database makes."""
    if isinstance(default, ColumnDefault) and default.is_scalar:
        return Made(lambda: default.arg)
    if isinstance(default, ColumnDefault) and default.is_callable:
        return Made(lambda: default.arg(None))
    return None
