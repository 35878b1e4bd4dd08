"""Writes each table of a demo plan through a bulk loader; personal data arrives sealed.

Primary keys are assigned here: the tables are empty, so row ``i`` of a plan gets id ``i + 1``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Table

from yutang.demo.bulk import BulkLoader
from yutang.demo.catalog import PRODUCTS, STORE_GROUP_CAPACITY
from yutang.demo.customers import (
    CONSENT_SOURCE,
    ConsentPlan,
    CustomerPlan,
    IdentityGroup,
    IdentityPlan,
)
from yutang.demo.draws import IntegerArray
from yutang.demo.identity_graph import DemoGraph, IdentityRows
from yutang.demo.names import REGION_NAMES
from yutang.demo.orders import SOURCES, STATUSES, ItemPlan, OrderPlan
from yutang.demo.plan import DemoPlan, Progress
from yutang.demo.sealing import Pending, SealedColumns, Sealer, SealJob
from yutang.demo.tables import (
    CHANNEL,
    CONSENT,
    CUSTOMER,
    IDENTITY,
    IDENTITY_HOLDER,
    ORDER,
    ORDER_ITEM,
    PRODUCT,
    REGION,
    SPEND,
    STORE,
    USER,
)
from yutang.kit.db import Encrypted
from yutang.pool.models import IdentityKind

CUSTOMER_CHUNK = 20_000
IDENTITY_CHUNK = 50_000
ROW_CHUNK = 100_000
DEMO_STAFF = "demo"
STAGE_ORGANISATION = "stores & staff"


@dataclass(frozen=True)
class SealedCustomers:
    """Pending seal jobs of the customers: names at once, the rest by chunk."""

    names: Pending[SealedColumns]
    customers: list[Pending[SealedColumns]]


SealedIdentities = dict[str, list[Pending[SealedColumns]]]
"""Pending seal jobs of the identities, by group and chunk."""


def seal_customers(sealer: Sealer, customers: CustomerPlan) -> SealedCustomers:
    """Submit the encryption and blind indexes of the customers, in the order written.

    Names repeat a lot, so their blind indexes are computed in one job, once per name.
    """
    return SealedCustomers(
        names=sealer.submit(SealJob(index={"name_index": ("name", customers.names)})),
        customers=[sealer.submit(job) for job in _customer_jobs(customers)],
    )


def seal_identities(sealer: Sealer, identities: IdentityPlan) -> SealedIdentities:
    """Submit the encryption and blind indexes of the identities, in the order written."""
    return {group.name: [sealer.submit(job) for job in _identity_jobs(group)]
            for group in identities.groups}


# --- helpers -----------------------------------------------------------------------------------


def _ids(start: int, stop: int) -> range:
    """Primary keys of plan rows ``start:stop``."""
    return range(start + 1, stop + 1)


def _references(indexes: IntegerArray) -> list[int | None]:
    """Foreign keys of plan indexes; a negative index is no reference."""
    references = (indexes + 1).astype(object)
    references[indexes < 0] = None
    values: list[int | None] = references.tolist()
    return values


def _context(table: Table, column: str) -> str:
    column_type = table.columns[column].type
    if not isinstance(column_type, Encrypted):
        raise TypeError(f"{table.name}.{column} is not encrypted")
    return column_type.context


def _chunks(count: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, count, size):
        yield start, min(count, start + size)


def _labels(names: Sequence[str], codes: IntegerArray) -> list[str]:
    labels: list[str] = np.asarray(names)[codes].tolist()
    return labels


# --- organisation, channels and products -----------------------------------------------------


def write_organisation(
    loader: BulkLoader, plan: DemoPlan, password_hash: str, progress: Progress
) -> None:
    people = plan.people
    opened = loader.instants(np.asarray([people.window.start]))[0]
    regions = list(dict.fromkeys(store.region_code for store in people.stores))
    steps: list[tuple[Table, dict[str, Sequence[Any]]]] = [
        (REGION, {
            "id": _ids(0, len(regions)),
            "code": regions,
            "name": [REGION_NAMES[code] for code in regions],
            "created_at": [opened] * len(regions),
        }),
        (STORE, {
            "id": _ids(0, len(people.stores)),
            "code": [store.code for store in people.stores],
            "name": [store.name for store in people.stores],
            "city": [store.city for store in people.stores],
            "region_id": [regions.index(store.region_code) + 1 for store in people.stores],
            "group_capacity": [STORE_GROUP_CAPACITY] * len(people.stores),
            "created_at": [opened] * len(people.stores),
        }),
        (USER, {
            "id": _ids(0, len(people.users)),
            "username": [user.username for user in people.users],
            "display_name": [user.display_name for user in people.users],
            "password_hash": [password_hash] * len(people.users),
            "role": [user.role.value for user in people.users],
            "store_id": [None if user.store_index is None else user.store_index + 1
                         for user in people.users],
            "wecom_userid": [user.username for user in people.users],
            "is_active": [True] * len(people.users),
            "created_at": [opened] * len(people.users),
        }),
        (CHANNEL, {
            "id": _ids(0, len(people.channels)),
            "code": [channel.code for channel in people.channels],
            "name": [channel.name for channel in people.channels],
            "kind": [channel.template.kind.value for channel in people.channels],
            "domain": [channel.template.domain.value for channel in people.channels],
            "store_id": [None if channel.store_index is None else channel.store_index + 1
                         for channel in people.channels],
            "created_at": [opened] * len(people.channels),
        }),
        (SPEND, _spend_columns(plan)),
        (PRODUCT, {
            "id": _ids(0, len(PRODUCTS)),
            "sku": [product.sku for product in PRODUCTS],
            "name": [product.name for product in PRODUCTS],
            "category": [product.category for product in PRODUCTS],
            "price_fen": [product.price_fen for product in PRODUCTS],
            "is_bait": [product.is_bait for product in PRODUCTS],
            "is_private_only": [product.is_private_only for product in PRODUCTS],
            "created_at": [opened] * len(PRODUCTS),
        }),
    ]
    for done, (table, columns) in enumerate(steps, start=1):
        loader.insert(table, columns)
        progress(STAGE_ORGANISATION, done, len(steps))


def _spend_columns(plan: DemoPlan) -> dict[str, Sequence[Any]]:
    spend = plan.spend
    channels, months = spend.amount_fen.shape
    return {
        "id": _ids(0, channels * months),
        "channel_id": np.repeat(np.arange(1, channels + 1), months).tolist(),
        "month": [month.isoformat() for month in spend.months] * channels,
        "amount_fen": spend.amount_fen.ravel().tolist(),
    }


# --- customers and identities ------------------------------------------------------------------


def _customer_jobs(customers: CustomerPlan) -> Iterator[SealJob]:
    personal: dict[str, Sequence[str | None]] = {
        "name": customers.names, "phone": customers.phones,
        "address": customers.addresses, "birthday": customers.birthdays,
    }
    for start, stop in _chunks(customers.count, CUSTOMER_CHUNK):
        yield SealJob(
            encrypt={
                column: (_context(CUSTOMER, column), values[start:stop])
                for column, values in personal.items()
            },
            index={"phone_index": (IdentityKind.PHONE.value, customers.phones[start:stop])},
        )


def write_customers(
    loader: BulkLoader, customers: CustomerPlan, sealed: SealedCustomers, progress: Progress
) -> None:
    name_indexes = sealed.names.result().indexes["name_index"]
    for (start, stop), pending in zip(_chunks(customers.count, CUSTOMER_CHUNK),
                                      sealed.customers, strict=True):
        columns = pending.result()
        acquired = loader.instants(customers.acquired_at[start:stop])
        loader.insert(CUSTOMER, {
            "id": _ids(start, stop),
            "store_id": _references(customers.store[start:stop]),
            "acquisition_channel_id": _references(customers.channel[start:stop]),
            "acquired_at": acquired,
            **columns.encrypted,
            **columns.indexes,
            "name_index": name_indexes[start:stop],
            "gender": customers.gender[start:stop],
            "created_at": acquired,
            "updated_at": acquired,
        })
        progress("customers", stop, customers.count)


def _identity_jobs(group: IdentityGroup) -> Iterator[SealJob]:
    for start, stop in _chunks(group.count, IDENTITY_CHUNK):
        values = group.values[start:stop]
        yield SealJob(
            encrypt={"value": (_context(IDENTITY, "value"), values)},
            index={"value_index": (group.kind.value, values)},
        )


def write_identities(
    loader: BulkLoader,
    identities: IdentityPlan,
    sealed: SealedIdentities,
    graph: DemoGraph,
    progress: Progress,
    *,
    holders_only: bool = False,
) -> None:
    """Identities in the order of the unique index (blind index, kind, scope, customer), so
    that every index on them and on their graph nodes grows at its end: their ids follow that
    order, not the customers'. The nodes are written before the identities, the links after.

    ``holders_only`` writes ``IDENTITY_HOLDER`` rows instead, without the columns an identity
    shares with its node (for a stage: ``IDENTITY_FROM_HOLDERS`` joins them back)."""
    groups = sorted(identities.groups, key=lambda group: (group.kind.value, group.scope))
    encrypted: list[bytes | None] = []
    value_index: list[str] = []
    for group in groups:
        for pending in sealed[group.name]:
            columns = pending.result()
            encrypted.extend(columns.encrypted["value"])
            value_index.extend(columns.indexes["value_index"])
    # Blind indexes are hex, so sorting their ASCII bytes sorts them as the database does; the
    # stable sort keeps the groups' (kind, scope) order and each group's customer order.
    index_bytes = np.asarray(value_index, dtype="S")
    order = np.argsort(index_bytes, kind="stable")
    rows = IdentityRows(
        group=np.repeat(np.arange(len(groups)), [group.count for group in groups])[order],
        kinds=[group.kind for group in groups],
        scopes=[group.scope for group in groups],
        value_index=index_bytes[order],
        encrypted=_gathered(encrypted, order),
        customer=np.concatenate([group.customer for group in groups])[order],
        created_at=np.concatenate([group.created_at for group in groups])[order],
    )
    node_ids = graph.write_nodes(loader, rows)
    sources = _gathered([source for group in groups for source in group.sources], order)
    shared: dict[str, Sequence[Any]] = {}
    if not holders_only:
        shared = {
            "kind": _labels([kind.value for kind in rows.kinds], rows.group),
            "scope": _labels(rows.scopes, rows.group),
            "value_index": rows.value_index.astype(str).tolist(),
            "value": rows.encrypted,
        }
    for start, stop in _chunks(len(order), ROW_CHUNK):
        customer_ids = (rows.customer[start:stop] + 1).tolist()
        loader.insert(IDENTITY_HOLDER if holders_only else IDENTITY, {
            "id": _ids(start, stop),
            "customer_id": customer_ids,
            **{column: values[start:stop] for column, values in shared.items()},
            "source": sources[start:stop],
            "created_at": loader.instants(rows.created_at[start:stop]),
            "value_id": node_ids[start:stop].tolist(),
            "origin_customer_id": customer_ids,
        })
        progress("identities", stop, len(order))
    graph.write_links(loader)


def _gathered(values: Sequence[Any], positions: IntegerArray) -> list[Any]:
    """``values`` at ``positions``, in that order."""
    boxed = np.empty(len(values), dtype=object)
    boxed[:] = values
    gathered: list[Any] = boxed[positions].tolist()
    return gathered


# --- consents, orders and items ----------------------------------------------------------------


def write_consents(loader: BulkLoader, consents: ConsentPlan, progress: Progress) -> None:
    for start, stop in _chunks(consents.count, ROW_CHUNK):
        loader.insert(CONSENT, {
            "id": _ids(start, stop),
            "customer_id": (consents.customer[start:stop] + 1).tolist(),
            "channel": consents.channel[start:stop],
            "granted": consents.granted[start:stop].tolist(),
            "source": [CONSENT_SOURCE] * (stop - start),
            "recorded_at": loader.instants(consents.recorded_at[start:stop]),
            "recorded_by": [DEMO_STAFF] * (stop - start),
        })
        progress("consents", stop, consents.count)


def write_orders(loader: BulkLoader, orders: OrderPlan, progress: Progress) -> None:
    paid = orders.paid_fen
    for start, stop in _chunks(orders.count, ROW_CHUNK):
        window = slice(start, stop)
        loader.insert(ORDER, {
            "id": _ids(start, stop),
            "source": _labels(SOURCES, orders.source[window]),
            "external_order_id": orders.external_ids(1, start, stop),
            "customer_id": (orders.customer[window] + 1).tolist(),
            "store_id": _references(orders.store[window]),
            "channel_id": (orders.channel[window] + 1).tolist(),
            "status": _labels(STATUSES, orders.status[window]),
            "total_fen": orders.total_fen[window].tolist(),
            "discount_fen": orders.discount_fen[window].tolist(),
            "paid_fen": paid[window].tolist(),
            "ordered_at": loader.instants(orders.ordered_at[window]),
            "paid_at": loader.instants(orders.paid_at[window]),
            "completed_at": loader.instants(orders.completed_at[window]),
            "refunded_at": loader.instants(orders.refunded_at[window]),
            "closed_at": loader.instants(orders.closed_at[window]),
        })
        progress("orders", stop, orders.count)


def write_items(loader: BulkLoader, items: ItemPlan, progress: Progress) -> None:
    skus = [product.sku for product in PRODUCTS]
    for start, stop in _chunks(items.count, ROW_CHUNK):
        window = slice(start, stop)
        loader.insert(ORDER_ITEM, {
            "id": _ids(start, stop),
            "order_id": (items.order[window] + 1).tolist(),
            "product_id": (items.product[window] + 1).tolist(),
            "sku": _labels(skus, items.product[window]),
            "quantity": items.quantity[window].tolist(),
            "unit_price_fen": items.unit_price_fen[window].tolist(),
            "amount_fen": items.amount_fen[window].tolist(),
        })
        progress("order items", stop, items.count)
