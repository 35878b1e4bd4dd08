"""Database: ORM base, column types, engines and the unit of work.

One request or job is one transaction: services ``flush``; ``unit_of_work`` (and the web
session dependency built on it) commits on success and rolls back on error.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, event
from sqlalchemy import create_engine as _sqlalchemy_create_engine
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from yutang.kit.clock import ensure_utc
from yutang.kit.crypto import get_protector
from yutang.kit.wal_checkpoint import WalCheckpointer

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: writers then poll as SQLite does
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")


LOGICAL_REFERENCE = "references"
"""Column ``info`` key naming the ``table.column`` a column refers to without a foreign key
(a high-volume log; see docs/adr/0007): code that follows references (merges) reads it."""


def referenced_column(column: Column[Any]) -> str | None:
    """``table.column`` this column refers to: by foreign key, or by a logical reference."""
    for foreign_key in column.foreign_keys:
        return f"{foreign_key.column.table.name}.{foreign_key.column.name}"
    reference = column.info.get(LOGICAL_REFERENCE)
    return str(reference) if reference else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, int: BigIntegerId}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = ensure_utc(value)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


class Encrypted(TypeDecorator[str]):
    """A text value encrypted with AES-GCM at rest; ``context`` names the column (the AAD)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else get_protector().encrypt(value, self.context)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else get_protector().decrypt(bytes(value), self.context)


def normalize_database_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the sqlite3 module, begin transactions (savepoints then work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Read the file through a memory map and keep more pages per connection: at a million
    # customers the identity graph's indexes no longer fit SQLite's default 8 MiB cache, and
    # every lookup went through read() calls (a merge's p50 went from 3 to 5 ms).
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    # Checkpoints run in the background (``kit.wal_checkpoint``), not inside a commit.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


SQLITE_MMAP_BYTES = 4 * 1024**3
"""Address space, not memory: the kernel's page cache holds the pages."""
SQLITE_CACHE_KIB = 64 * 1024

WRITER_OPTION = "yutang_writer"


def _begin_sqlite(connection: Connection) -> None:
    # A writer takes SQLite's write lock at BEGIN, so two writers queue instead of one
    # failing to upgrade its read lock half-way (SQLITE_BUSY) when both then write.
    writer = connection.get_execution_options().get(WRITER_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def writer_engine(engine: Engine) -> Engine:
    """The same engine, for transactions that will write contended rows (ingestion)."""
    return engine.execution_options(**{WRITER_OPTION: True})


def create_engine(url: str, **options: Any) -> Engine:
    url = normalize_database_url(url)
    if is_sqlite(url):
        engine = _sqlalchemy_create_engine(url, **options)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            checkpointer = WalCheckpointer(os.path.abspath(database)).start()
            event.listen(engine, "engine_disposed", lambda _: checkpointer.stop())
        return engine
    # No server-side prepared statements: psycopg would prepare a statement after five runs and
    # PostgreSQL could then keep a generic plan made while a table was nearly empty (a
    # sequential scan of the identity graph, measured 25x slower at 10,000 customers).
    # Planning these short statements afresh costs a tenth of a millisecond.
    connect_args = {"prepare_threshold": None, **options.pop("connect_args", {})}
    # No ping of a pooled connection before each use: it is a round trip of its own in every
    # transaction (a group-code scan is four). Only a connection that sat idle in the pool
    # for a while is pinged (``_ping_if_idle``: the server may have restarted, or a firewall
    # dropped it, meanwhile); one found dead by the work instead is re-run on a fresh one by
    # ``run_in_transaction``, and SQLAlchemy then drops every connection pooled before.
    engine = _sqlalchemy_create_engine(url, connect_args=connect_args, **options)
    event.listen(engine, "connect", _configure_postgresql)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


IDLE_BEFORE_PING = 10.0
"""Seconds a pooled PostgreSQL connection may sit unused before it is pinged on checkout."""


def _note_checkin(_: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _: Any) -> None:
    """A connection idle for ``IDLE_BEFORE_PING`` answers a ping, or the pool replaces it
    (``DisconnectionError`` makes SQLAlchemy connect afresh, up to three times)."""
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_BEFORE_PING:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:  # any failure: the connection is not usable
        raise DisconnectionError("a pooled connection did not answer its ping") from error


def _configure_postgresql(connection: Any, _: Any) -> None:
    """No JIT compilation: yutang's statements run for milliseconds to a few seconds, where
    compiling costs more than it saves (a segment count over 1,000,000 customers: 0.97 s with
    JIT, 158 ms of it compiling; 0.72 s without). Set per connection, not as a startup
    option, so that a connection pooler in front of the server is not refused."""
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    connection.commit()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: on SQLite a plain ``BEGIN`` (no writer turn, no
    ``BEGIN IMMEDIATE``), for the cheap check before deciding whether to write at all."""
    with factory() as session:
        session.connection(execution_options={WRITER_OPTION: False})
        yield session


TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
"""PostgreSQL: serialization failure, deadlock detected: the transaction may simply be re-run."""


def is_transient(error: BaseException) -> bool:
    """A conflict with a concurrent transaction that a retry resolves."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return isinstance(original, sqlite3.OperationalError) and "locked" in str(original)


_turns_held = threading.local()
"""The SQLite files whose writer turn this thread holds (a turn is re-entrant per thread)."""


@contextmanager
def _writers_in_turn(factory: sessionmaker[Session]) -> Iterator[None]:
    """On a SQLite file, writer transactions (of every process) take turns on a file lock.

    SQLite lets one writer in; another one's ``BEGIN IMMEDIATE`` polls with growing sleeps
    (1, 2, 5, 10… ms), so under load writers sleep past the moment the lock is free. A
    blocking ``flock`` wakes the next writer as soon as the previous one commits.
    """
    bind = factory.kw.get("bind")
    database = (bind.url.database if isinstance(bind, Engine) and bind.dialect.name == "sqlite"
                and bind.get_execution_options().get(WRITER_OPTION, False) else None)
    if fcntl is None or not database or database == ":memory:":
        yield
        return
    held: set[str] = _turns_held.__dict__.setdefault("databases", set())
    if database in held:  # re-entered by this thread (an after-commit reaction): keep the turn
        yield
        return
    with open(f"{database}.writer-lock", "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(database)
        try:
            yield
        finally:
            held.discard(database)
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_in_transaction(
    factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 5
) -> T:
    """Run ``work`` in one transaction, re-running it if a concurrent one forced a rollback,
    or if the connection was found dead before the commit (nothing was committed then; a
    connection lost *during* the commit is not re-run: the commit may have happened)."""
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with _writers_in_turn(factory), unit_of_work(factory) as session:
                result = work(session)
                committing = True
            return result
        except DBAPIError as error:
            lost_before_commit = error.connection_invalidated and not committing
            if attempt == attempts or not (is_transient(error) or lost_before_commit):
                raise
            time.sleep(0.01 * 2**attempt * random.random())  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")
