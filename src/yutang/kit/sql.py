"""SQL constructs that keep hot statements cheap on both backends.

``column IN (:a, :b, …)`` with hundreds of values costs a lot per execution: SQLAlchemy renders
one placeholder per value (so the statement is never the same twice), the driver binds each
one, and PostgreSQL plans a long list. ``in_list`` binds the values as *one* parameter instead:

- PostgreSQL: ``column = ANY(:values)`` with an array;
- SQLite: ``column IN (SELECT value FROM json_each(:values))`` with a JSON array (SQLite
  still probes the column's index for each value).

The statement text is constant, so SQLAlchemy's compiled cache and PostgreSQL's prepared
statements are reused batch after batch.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    FromClause,
    Integer,
    Table,
    Text,
    bindparam,
    column,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean, TypeDecorator, TypeEngine


class _ValueList(TypeDecorator[list[Any]]):
    """A list bound as one parameter: an array on PostgreSQL, JSON text on SQLite."""

    impl = Text
    cache_ok = True

    def __init__(self, textual: bool) -> None:
        super().__init__()
        self.textual = textual

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Text() if self.textual else BigInteger()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps(value)


_INTEGERS = _ValueList(textual=False)
_TEXTS = _ValueList(textual=True)


class InList(ColumnElement[bool]):
    """``column`` is one of the values bound to ``parameter`` (see the module docstring)."""

    __visit_name__ = "yutang_in_list"
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: no "= 1" appended where booleans are ints
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's visitor protocol)
        ("column", InternalTraversal.dp_clauseelement),
        ("parameter", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], parameter: BindParameter[Any]) -> None:
        self.column = column
        self.parameter = parameter

    @property
    def _from_objects(self) -> list[Any]:
        """The column's table, so ``exists().where(in_list(…))`` knows what to select from."""
        return list(self.column._from_objects)


def in_list(column: Any, values: Collection[int] | Collection[str]) -> InList:
    """``column`` is one of ``values``, bound as one parameter (integers for an integer
    column, strings for any other)."""
    ordered = sorted(values)
    textual = not isinstance(column.type, Integer)
    parameter = bindparam(None, ordered, type_=_TEXTS if textual else _INTEGERS,
                          unique=True)
    return InList(column, parameter)


def list_parameter(name: str, *, textual: bool) -> BindParameter[Any]:
    """A list bound as the one parameter ``name`` (an array on PostgreSQL, JSON on SQLite),
    for hand-written statements built once."""
    return bindparam(name, type_=_TEXTS if textual else _INTEGERS)


def in_list_parameter(column: Any, name: str) -> InList:
    """``column`` is one of the values given later as the parameter ``name`` (a list), for a
    statement built once and run many times."""
    return InList(column, list_parameter(name, textual=not isinstance(column.type, Integer)))


@compiles(InList, "postgresql")
def _in_list_postgresql(element: InList, compiler: SQLCompiler, **options: Any) -> str:
    column = compiler.process(element.column, **options)
    return f"{column} = ANY({compiler.process(element.parameter, **options)})"


@compiles(InList)
def _in_list_sqlite(element: InList, compiler: SQLCompiler, **options: Any) -> str:
    column = compiler.process(element.column, **options)
    parameter = compiler.process(element.parameter, **options)
    return f"{column} IN (SELECT value FROM json_each({parameter}))"  # noqa: S608 (compiled)


def record_list(name: str, columns: Sequence[tuple[str, TypeEngine[Any]]], *,
                postgresql: bool, alias: str) -> FromClause:
    """The rows of the parameter ``name`` — a list of dicts bound as one JSON array — as a
    table ``alias`` with ``columns``: ``json_to_recordset`` on PostgreSQL, ``json_each``
    on SQLite. The statement's text is the same for any number of rows, so it is compiled
    once and prepared (a VALUES list or a multi-row INSERT would be new each time)."""
    parameter = bindparam(name, type_=JSON())
    if postgresql:
        return (func.json_to_recordset(parameter)
                .table_valued(*(column(field, type_) for field, type_ in columns))
                .render_derived(name=alias, with_types=True))
    row = func.json_each(parameter).table_valued("value")
    return select(*(type_coerce(func.json_extract(row.c.value, f"$.{field}"), type_)
                    .label(field) for field, type_ in columns)).subquery(alias)


def table_of(model: type[object]) -> Table:
    """The ``Table`` of a mapped class."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def insert_into(session: Session,
                target: Table | type[object]) -> sqlite.Insert | postgresql.Insert:
    """``INSERT`` in the session's dialect, which knows ``ON CONFLICT`` (both backends)."""
    table = target if isinstance(target, Table) else table_of(target)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
