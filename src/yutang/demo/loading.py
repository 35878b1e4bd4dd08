"""Loads a demo plan into an empty database in one transaction, table after table.

Personal data is sealed by worker processes while other tables are written; on SQLite with
workers, the purchases and the identity graph are written by workers into stage files and
copied in (``staging``). Secondary indexes on randomly ordered keys are rebuilt once their
table is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Index, Table
from sqlalchemy.orm import Session

from yutang.demo import writers
from yutang.demo.bulk import BulkLoader, SqliteLoader, bulk_loading
from yutang.demo.identity_graph import DemoGraph
from yutang.demo.plan import DemoPlan, Progress
from yutang.demo.staging import IDENTITIES, PURCHASES, Stager
from yutang.demo.tables import (
    BULK_TABLES,
    CONSENT,
    CUSTOMER,
    IDENTITY,
    IDENTITY_LINK,
    INDEXED_TABLES,
    ORDER,
    ORDER_ITEM,
    require_empty,
)
from yutang.demo.writers import SealedCustomers, SealedIdentities
from yutang.pool.oneid import OneIdPolicy

STAGE_INDEXES = "indexes"
STAGE_SAVING = "saving"

MAINTAINED_INDEXES = {
    CUSTOMER.name: {"store_id", "acquisition_channel_id", "merged_into_id"},
    IDENTITY.name: {"value_id"},
    ORDER.name: {"store_id"},
}
"""By table, the leading columns of the indexes kept up to date while loading. The others are
dropped and rebuilt, which costs less for keys that arrive in random order; columns with a
handful of values are kept (sorting a million equal keys is slow, appending to a few runs is
not)."""


@dataclass(frozen=True)
class LoadCounts:
    users: int
    customers: int
    identities: int
    consents: int
    orders: int
    order_items: int


@dataclass(frozen=True)
class PersonalData:
    """How the personal data arrives: customers sealed by the sealer; identities sealed by it
    too, or written with their graph by the stager's worker (SQLite with workers)."""

    customers: SealedCustomers
    identities: SealedIdentities | None = None
    stager: Stager | None = None


def load_plan(
    engine: Engine,
    plan: DemoPlan,
    personal: PersonalData,
    *,
    password_hash: str,
    policy: OneIdPolicy,
    progress: Progress,
    finish: Callable[[Session], None],
) -> LoadCounts:
    """Write ``plan``; ``finish`` adds the last rows (planted truth, audit) in the same session."""
    people = plan.people
    with engine.connect() as connection, bulk_loading(connection) as loader, \
            _attached(personal.stager, connection):
        with connection.begin():
            require_empty(connection)
            writers.write_organisation(loader, plan, password_hash, progress)
            _PlanWriter(loader, plan, personal, DemoGraph(policy), progress).write()
            loader.require_indexes_rebuilt()
            loader.after_load(BULK_TABLES)
            with Session(bind=connection) as session:
                finish(session)
                session.flush()
            progress(STAGE_SAVING, 0, 1)
        progress(STAGE_SAVING, 1, 1)
    return LoadCounts(
        users=len(people.users),
        customers=people.customers.count,
        identities=people.identities.count,
        consents=people.consents.count,
        orders=plan.orders.count,
        order_items=plan.items.count,
    )


@contextmanager
def _attached(stager: Stager | None, connection: Connection) -> Iterator[None]:
    if stager is None:
        yield
        return
    with stager.attached(connection):
        yield


def _maintained(index: Index) -> bool:
    table = index.table.name if index.table is not None else ""
    return next(iter(index.columns)).name in MAINTAINED_INDEXES.get(table, set())


class _PlanWriter:
    """Writes the large tables, and rebuilds the indexes dropped for them."""

    def __init__(
        self,
        loader: BulkLoader,
        plan: DemoPlan,
        personal: PersonalData,
        graph: DemoGraph,
        progress: Progress,
    ) -> None:
        self.loader = loader
        self.plan = plan
        self.personal = personal
        self.graph = graph
        self.progress = progress
        self.indexes_built = 0
        self.indexes_total = 0

    def write(self) -> None:
        self.loader.defer_indexes(INDEXED_TABLES, keep=_maintained)
        self.indexes_total = sum(
            1 for table in INDEXED_TABLES for index in table.indexes if not _maintained(index)
        )
        stager = self.personal.stager
        if stager is not None:
            self.write_with_stages(stager)
        else:
            self.write_here()

    def write_here(self) -> None:
        """Every table from this process, parents first."""
        loader, plan, progress = self.loader, self.plan, self.progress
        people = plan.people
        identities = self.personal.identities
        if identities is None:
            raise RuntimeError("the identities are neither sealed nor staged")
        writers.write_customers(loader, people.customers, self.personal.customers, progress)
        writers.write_identities(loader, people.identities, identities, self.graph, progress)
        writers.write_consents(loader, people.consents, progress)
        writers.write_orders(loader, plan.orders, progress)
        writers.write_items(loader, plan.items, progress)
        self.rebuild_indexes(*INDEXED_TABLES)

    def write_with_stages(self, stager: Stager) -> None:
        """The customers from here while the workers write their stages; then each stage
        copied in and its indexes rebuilt."""
        loader = self.loader
        if not isinstance(loader, SqliteLoader):
            raise TypeError("stages are copied in by SQLite")

        def relayed(stage: str, done: int, total: int) -> None:
            stager.relay_progress()
            self.progress(stage, done, total)

        writers.write_customers(loader, self.plan.people.customers, self.personal.customers,
                                relayed)
        self.rebuild_indexes(CUSTOMER)
        stager.copy_in(loader, PURCHASES)
        self.rebuild_indexes(ORDER, ORDER_ITEM, CONSENT)
        stager.copy_in(loader, IDENTITIES)
        self.rebuild_indexes(IDENTITY, IDENTITY_LINK)

    def rebuild_indexes(self, *tables: Table) -> None:
        self.progress(STAGE_INDEXES, self.indexes_built, self.indexes_total)
        for _ in self.loader.rebuild_indexes(tables):
            self.indexes_built += 1
            self.progress(STAGE_INDEXES, self.indexes_built, self.indexes_total)
