"""Large demo tables written by worker processes into stage files, then copied in by SQLite.

A SQLite database has one writer, and binding Python values to statements costs about twice
what storing them does (1.9M identities: 5.0 s through ``executemany``, 1.8 s through
``INSERT … SELECT``). So while the main process writes the customers, two worker processes
write, each into a file of its own, the purchases (orders, items, consents) and the identity
graph (its values sealed in the worker; nodes, identities, links). The main process then
copies each stage into the database with one ``INSERT … SELECT`` per table, in its single
transaction: a failure anywhere still leaves the database empty.

Stage files are attached before the transaction begins (SQLite cannot attach inside one) and
are deleted afterwards. Their tables have untyped columns, so every value keeps the type the
loader gave it and the database's own column affinities apply when it is copied in.
"""

from __future__ import annotations

import multiprocessing
import queue
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy import create_engine as create_plain_engine
from sqlalchemy.pool import NullPool

from yutang.demo import writers
from yutang.demo.bulk import BulkLoader, SqliteLoader, bulk_loading, sqlite_driver
from yutang.demo.customers import ConsentPlan, IdentityPlan
from yutang.demo.identity_graph import DemoGraph
from yutang.demo.orders import ItemPlan, OrderPlan
from yutang.demo.plan import Progress
from yutang.demo.sealing import Sealer
from yutang.demo.tables import (
    CONSENT,
    IDENTITY,
    IDENTITY_HOLDER,
    IDENTITY_LINK,
    IDENTITY_VALUE,
    NODE_COLUMNS,
    ORDER,
    ORDER_ITEM,
)
from yutang.kit.crypto import DataProtector, configure_protector, get_protector
from yutang.pool.oneid import OneIdPolicy

PURCHASES = "purchases"
IDENTITIES = "identities"
STAGE_TABLES: dict[str, tuple[Table, ...]] = {
    PURCHASES: (ORDER, ORDER_ITEM, CONSENT),
    IDENTITIES: (IDENTITY_VALUE, IDENTITY_HOLDER, IDENTITY_LINK),
}
"""By stage, its tables in the order they are copied (parents first). Identities are staged
without the columns they share with their node, and joined with it when copied in."""
POLL_SECONDS = 0.2

WrittenColumns = dict[str, list[str]]
"""By table name, the columns a stage wrote."""

_progress_queue: Any = None


def _start_worker(protector: DataProtector, progress_queue: Any) -> None:
    global _progress_queue
    configure_protector(protector)
    _progress_queue = progress_queue


def _report(stage: str, done: int, total: int) -> None:
    _progress_queue.put((stage, done, total))


@dataclass(frozen=True)
class Purchases:
    orders: OrderPlan
    items: ItemPlan
    consents: ConsentPlan


def stage_purchases(path: str, purchases: Purchases) -> WrittenColumns:
    """Worker task: orders, their items and the consents into the stage file at ``path``."""
    with _stage_loader(path, PURCHASES) as loader:
        writers.write_orders(loader, purchases.orders, _report)
        writers.write_items(loader, purchases.items, _report)
        writers.write_consents(loader, purchases.consents, _report)
        return loader.written_columns


def stage_identities(path: str, identities: IdentityPlan, policy: OneIdPolicy) -> WrittenColumns:
    """Worker task: seal the identities here, then write their graph and them."""
    with _stage_loader(path, IDENTITIES) as loader, Sealer(0) as sealer:
        sealed = writers.seal_identities(sealer, identities)
        writers.write_identities(loader, identities, sealed, DemoGraph(policy), _report,
                                 holders_only=True)
        return loader.written_columns


@contextmanager
def _stage_loader(path: str, stage: str) -> Iterator[BulkLoader]:
    engine = create_plain_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as connection, bulk_loading(connection) as loader, \
                connection.begin():
            for table in STAGE_TABLES[stage]:
                # Untyped columns; the id is the rowid, so that joins on it are lookups.
                columns = ", ".join(
                    loader.preparer.quote(column.name) + (
                        " INTEGER PRIMARY KEY" if column.name == "id" else "")
                    for column in table.columns)
                connection.exec_driver_sql(
                    f"CREATE TABLE {loader.preparer.format_table(table)} ({columns})")
            yield loader
    finally:
        engine.dispose()


class Stager:
    """Runs the stage tasks in worker processes and copies their tables in."""

    def __init__(self, directory: Path, progress: Progress) -> None:
        self.directory = directory
        self.progress = progress
        self._temporary: Path | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._queue: Any = None
        self._tasks: dict[str, Future[WrittenColumns]] = {}

    def __enter__(self) -> Stager:
        self._temporary = Path(tempfile.mkdtemp(prefix=".yutang-demo-stage-",
                                                dir=self.directory))
        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self._pool = ProcessPoolExecutor(
            max_workers=len(STAGE_TABLES), mp_context=context,
            initializer=_start_worker, initargs=(get_protector(), self._queue))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._queue is not None:
            self._queue.close()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)

    def path(self, stage: str) -> str:
        if self._temporary is None:
            raise RuntimeError("enter the stager first")
        return str(self._temporary / f"{stage}.db")

    def start(self, stage: str, task: Callable[..., WrittenColumns], *arguments: Any) -> None:
        if self._pool is None:
            raise RuntimeError("enter the stager first")
        self._tasks[stage] = self._pool.submit(task, self.path(stage), *arguments)

    def relay_progress(self) -> None:
        """Pass the workers' progress on (the main process calls this between its steps)."""
        while True:
            try:
                stage, done, total = self._queue.get_nowait()
            except queue.Empty:
                return
            self.progress(stage, done, total)

    @contextmanager
    def attached(self, connection: Connection) -> Iterator[None]:
        """The stage files attached to ``connection``; enter before its transaction begins."""
        driver = sqlite_driver(connection)
        for stage in self._tasks:
            driver.execute("ATTACH DATABASE ? AS " + _schema(stage), (self.path(stage),))
        try:
            yield
        finally:
            for stage in self._tasks:
                driver.execute("DETACH DATABASE " + _schema(stage))

    def copy_in(self, loader: SqliteLoader, stage: str) -> None:
        """Wait for ``stage`` and copy its tables into the database, in the open transaction."""
        task = self._tasks[stage]
        while True:
            self.relay_progress()
            try:
                written = task.result(timeout=POLL_SECONDS)
                break
            except TimeoutError:
                continue
        self.relay_progress()
        for table in STAGE_TABLES[stage]:
            columns = written.get(table.name)
            if not columns:
                continue
            if table is IDENTITY_HOLDER:
                _copy_identities(loader, _schema(stage), columns)
            else:
                loader.copy_from(table, _schema(stage), columns)


def _copy_identities(loader: SqliteLoader, schema: str, holder_columns: list[str]) -> None:
    """Identities from their staged holders joined with their nodes."""
    quote = loader.preparer.quote
    targets = [*holder_columns, *NODE_COLUMNS]
    sources = [f"holder.{quote(name)}" for name in holder_columns] + [
        f"node.{quote(column)}" for column in NODE_COLUMNS.values()]
    loader.connection.exec_driver_sql(
        f"INSERT INTO main.{quote(IDENTITY.name)} ({', '.join(map(quote, targets))}) "  # noqa: S608 (names from the metadata)
        f"SELECT {', '.join(sources)} "
        f"FROM {quote(schema)}.{quote(IDENTITY_HOLDER.name)} AS holder "
        f"JOIN {quote(schema)}.{quote(IDENTITY_VALUE.name)} AS node "
        "ON node.id = holder.value_id ORDER BY holder.id")


def _schema(stage: str) -> str:
    return f"stage_{stage}"
