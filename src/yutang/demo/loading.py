"""Loads a demo plan into an empty database in one transaction, table after table.

Personal data is sealed by worker processes while the tables that need no encryption are
written; secondary indexes on randomly ordered keys are rebuilt once their table is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, Index, Table
from sqlalchemy.orm import Session

from yutang.demo import writers
from yutang.demo.bulk import BulkLoader, bulk_loading
from yutang.demo.plan import DemoPlan, Progress
from yutang.demo.tables import (
    BULK_TABLES,
    CONSENT,
    CUSTOMER,
    IDENTITY,
    INDEXED_TABLES,
    ORDER,
    ORDER_ITEM,
    require_empty,
)
from yutang.demo.writers import SealedPersonalData

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


def load_plan(
    engine: Engine,
    plan: DemoPlan,
    sealed: SealedPersonalData,
    *,
    password_hash: str,
    progress: Progress,
    finish: Callable[[Session], None],
) -> LoadCounts:
    """Write ``plan``; ``finish`` adds the last rows (planted truth, audit) in the same session."""
    people = plan.people
    with engine.connect() as connection, bulk_loading(connection) as loader:
        with connection.begin():
            require_empty(connection)
            writers.write_organisation(loader, plan, password_hash, progress)
            _PlanWriter(loader, plan, sealed, progress).write()
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


def _maintained(index: Index) -> bool:
    table = index.table.name if index.table is not None else ""
    return next(iter(index.columns)).name in MAINTAINED_INDEXES.get(table, set())


class _PlanWriter:
    """Writes the large tables, in an order chosen by what the database checks."""

    def __init__(
        self, loader: BulkLoader, plan: DemoPlan, sealed: SealedPersonalData, progress: Progress
    ) -> None:
        self.loader = loader
        self.plan = plan
        self.sealed = sealed
        self.progress = progress
        self.indexes_built = 0
        self.indexes_total = 0

    def write(self) -> None:
        loader, plan, sealed, progress = self.loader, self.plan, self.sealed, self.progress
        loader.defer_indexes(INDEXED_TABLES, keep=_maintained)
        self.indexes_total = sum(
            1 for table in INDEXED_TABLES for index in table.indexes if not _maintained(index)
        )
        if loader.defers_references:
            # Rows may come before what they reference: first what needs no encryption, so
            # that the workers sealing personal data have as long as possible; identities
            # last, after the other tables' indexes are built.
            writers.write_orders(loader, plan, progress)
            writers.write_items(loader, plan, progress)
            writers.write_consents(loader, plan.people, progress)
            phone_indexes = writers.write_customers(loader, plan.people.customers, sealed,
                                                    progress)
            self.rebuild_indexes(CUSTOMER, CONSENT, ORDER, ORDER_ITEM)
            writers.write_identities(loader, plan.people, sealed.identities, phone_indexes,
                                     progress)
            self.rebuild_indexes(IDENTITY)
        else:
            phone_indexes = writers.write_customers(loader, plan.people.customers, sealed,
                                                    progress)
            writers.write_identities(loader, plan.people, sealed.identities, phone_indexes,
                                     progress)
            writers.write_consents(loader, plan.people, progress)
            writers.write_orders(loader, plan, progress)
            writers.write_items(loader, plan, progress)
            self.rebuild_indexes(*INDEXED_TABLES)

    def rebuild_indexes(self, *tables: Table) -> None:
        self.progress(STAGE_INDEXES, self.indexes_built, self.indexes_total)
        for _ in self.loader.rebuild_indexes(tables):
            self.indexes_built += 1
            self.progress(STAGE_INDEXES, self.indexes_built, self.indexes_total)
