"""Insert a batch of rows in one statement, skipping rows that hit a unique key, and learn
which rows went in — without the ORM's per-value work.

SQLAlchemy's ``insert().returning()`` with many parameter sets renders one placeholder per
value and runs every value through its type's bind processor; for a batch of 500 events that
cost more than the database's own work (measured: 47 ms a batch on PostgreSQL against 10 ms
here). This module renders one statement per batch:

- PostgreSQL: ``INSERT … SELECT * FROM unnest(:col1::type[], …)``: one array per column;
- SQLite: ``INSERT … VALUES (?, …), (?, …)`` in chunks under SQLite's variable limit.

Values are converted the way the ORM's column types would store them: instants (``UTCDateTime``)
in UTC (naive ``YYYY-MM-DD HH:MM:SS.ffffff`` text on SQLite, as SQLAlchemy writes it), JSON
columns as JSON text, encrypted columns (``Encrypted``) sealed under their column's context.
Other column types are passed through as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.orm import Session

from yutang.kit.clock import ensure_utc
from yutang.kit.crypto import get_protector
from yutang.kit.db import Encrypted, UTCDateTime

SQLITE_MAX_VARIABLES = 32_766
Converter = Callable[[Any], Any]


@lru_cache(maxsize=4096)  # a batch's rows share their receipt time and often more
def _sqlite_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return ensure_utc(value).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@lru_cache(maxsize=4096)
def _postgresql_instant(value: datetime | None) -> str | None:
    return None if value is None else ensure_utc(value).isoformat()


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _converters(table: Table, columns: Sequence[str], sqlite: bool) -> list[Converter | None]:
    converters: list[Converter | None] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, Encrypted):
            converters.append(_sealing(get_protector().encryptor(column_type.context)))
        elif isinstance(column_type, UTCDateTime):
            converters.append(_sqlite_instant if sqlite else _postgresql_instant)
        elif isinstance(column_type, JSON):
            converters.append(_json_text)
        else:
            converters.append(None)
    return converters


def _sealing(encrypt: Callable[[str], bytes]) -> Converter:
    return lambda value: None if value is None else encrypt(value)


def insert_new_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unique: Sequence[str],
    returning: str,
) -> list[Any]:
    """Insert ``rows`` (values in ``columns`` order) in the caller's transaction, skipping any
    row whose ``unique`` key is already taken; returns ``returning`` of the rows inserted."""
    return _insert(session, table, columns, rows, unique=unique, returning=returning)


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unique: Sequence[str] | None = None,
) -> None:
    """Insert ``rows`` (values in ``columns`` order) in the caller's transaction; with
    ``unique``, rows whose key is already taken are skipped."""
    _insert(session, table, columns, rows, unique=unique, returning=None)


def _insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unique: Sequence[str] | None,
    returning: str | None,
) -> list[Any]:
    if not rows:
        return []
    connection = session.connection()
    dialect = connection.dialect
    sqlite = dialect.name == "sqlite"
    converters = _converters(table, columns, sqlite)
    converted = [
        [value if convert is None else convert(value)
         for value, convert in zip(row, converters, strict=True)]
        for row in rows
    ]
    quote = dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(name) for name in columns)})"
    tail = " ".join([
        *([f"ON CONFLICT ({', '.join(quote(name) for name in unique)}) DO NOTHING"]
          if unique else []),
        *([f"RETURNING {quote(returning)}"] if returning else []),
    ])
    if not sqlite:
        # Binary parameters: a text array of JSON in the text format costs six times as much
        # (every quote escaped), 2.4 ms of 5.3 for a batch of 500 events.
        arrays = ", ".join(
            f"%b::{_postgresql_array_type(table, name, dialect)}" for name in columns
        )
        # Names and types come from the table's metadata, never from the rows.
        statement = f"INSERT INTO {target} SELECT * FROM unnest({arrays}) {tail}"  # noqa: S608
        parameters = tuple(list(values) for values in zip(*converted, strict=True))
        result = connection.exec_driver_sql(statement, parameters)
        return [row[0] for row in result] if returning else []
    per_statement = max(1, SQLITE_MAX_VARIABLES // len(columns))
    placeholders = "(" + ", ".join(["?"] * len(columns)) + ")"
    inserted: list[Any] = []
    for start in range(0, len(converted), per_statement):
        chunk = converted[start:start + per_statement]
        values = ", ".join([placeholders] * len(chunk))
        statement = f"INSERT INTO {target} VALUES {values} {tail}"  # noqa: S608
        flat = tuple(value for row in chunk for value in row)
        result = connection.exec_driver_sql(statement, flat)
        if returning:
            inserted.extend(row[0] for row in result)
    return inserted


def _postgresql_array_type(table: Table, name: str, dialect: Any) -> str:
    column_type = table.c[name].type
    if isinstance(column_type, UTCDateTime):
        return "timestamptz[]"
    if isinstance(column_type, JSON):
        return "json[]"
    return f"{column_type.compile(dialect=dialect)}[]"
