"""Bulk demo generator against a named baseline: the same plan written through the plain ORM.

    python bench/bench_demo.py --customers 100000

Both runs write the same planned merchant (same seed, same rows: stores, staff, channels,
products, customers with encrypted personal data and blind indexes, identities with their
OneID graph nodes and links, consents, orders, items) into a fresh migrated SQLite database,
and both include planning and encryption. The baseline adds ORM objects table by table
(``session.add_all``, a flush per table) and commits once, as a service would. Figures are
wall-clock seconds of one run each.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yutang.access.models import User
from yutang.access.service import hash_password
from yutang.demo.catalog import PRODUCTS, STORE_GROUP_CAPACITY
from yutang.demo.customers import CONSENT_SOURCE
from yutang.demo.draws import MISSING
from yutang.demo.generator import DEMO_PASSWORD, DemoOptions, generate_demo
from yutang.demo.names import REGION_NAMES
from yutang.demo.orders import SOURCES, STATUSES
from yutang.demo.plan import DemoPlan, plan_demo
from yutang.kit.crypto import DataProtector, configure_protector, get_protector
from yutang.kit.db import create_engine
from yutang.migrate import upgrade
from yutang.org.models import Region, Store
from yutang.pool.models import (
    Channel,
    ChannelSpend,
    Consent,
    Customer,
    Identity,
    IdentityLink,
    IdentityValue,
    Order,
    OrderItem,
    Product,
)


def fresh_engine(directory: Path, name: str) -> Engine:
    url = f"sqlite:///{directory / name}"
    upgrade(url)
    return create_engine(url)


def moment(seconds: int) -> datetime | None:
    return None if seconds == MISSING else datetime.fromtimestamp(seconds, UTC)


def reference(index: int) -> int | None:
    return None if index < 0 else index + 1


def organisation(plan: DemoPlan, password_hash: str) -> list[list[object]]:
    """Regions, stores, users, channels, spend and products: a list per table, parents first."""
    people = plan.people
    opened = moment(people.window.start)
    regions = list(dict.fromkeys(store.region_code for store in people.stores))
    months = plan.spend.months
    return [
        [Region(id=number, code=code, name=REGION_NAMES[code], created_at=opened)
         for number, code in enumerate(regions, 1)],
        [Store(id=number, code=store.code, name=store.name, city=store.city,
               region_id=regions.index(store.region_code) + 1,
               group_capacity=STORE_GROUP_CAPACITY, created_at=opened)
         for number, store in enumerate(people.stores, 1)],
        [User(id=number, username=user.username, display_name=user.display_name,
              password_hash=password_hash, role=user.role.value,
              store_id=None if user.store_index is None else user.store_index + 1,
              wecom_userid=user.username, is_active=True, created_at=opened)
         for number, user in enumerate(people.users, 1)],
        [Channel(id=number, code=channel.code, name=channel.name,
                 kind=channel.template.kind.value, domain=channel.template.domain.value,
                 store_id=None if channel.store_index is None else channel.store_index + 1,
                 created_at=opened)
         for number, channel in enumerate(people.channels, 1)],
        [ChannelSpend(id=row * len(months) + column + 1, channel_id=row + 1,
                      month=months[column], amount_fen=int(plan.spend.amount_fen[row, column]))
         for row in range(len(people.channels)) for column in range(len(months))],
        [Product(id=number, sku=product.sku, name=product.name, category=product.category,
                 price_fen=product.price_fen, is_bait=product.is_bait,
                 is_private_only=product.is_private_only, created_at=opened)
         for number, product in enumerate(PRODUCTS, 1)],
    ]


def customers(plan: DemoPlan) -> Iterable[object]:
    protector = get_protector()
    people = plan.people.customers
    for index in range(people.count):
        acquired = moment(int(people.acquired_at[index]))
        yield Customer(
            id=index + 1, store_id=reference(int(people.store[index])),
            acquisition_channel_id=int(people.channel[index]) + 1, acquired_at=acquired,
            name=people.names[index],
            name_index=protector.blind_index(people.names[index], "name"),
            phone=people.phones[index],
            phone_index=protector.blind_index(people.phones[index], "phone"),
            address=people.addresses[index], birthday=people.birthdays[index],
            gender=people.gender[index], created_at=acquired, updated_at=acquired,
        )


def identity_values(plan: DemoPlan) -> Iterable[object]:
    """The graph node of each identity (every demo value is distinct and strong)."""
    protector = get_protector()
    number = 0
    for group in plan.people.identities.groups:
        kind = group.kind.value
        for position, value in enumerate(group.values):
            number += 1
            created = moment(int(group.created_at[position]))
            yield IdentityValue(
                id=number, kind=kind, scope=group.scope,
                value_index=protector.blind_index(value, kind), value=value,
                strength="strong", status="usable", first_seen_at=created, updated_at=created,
            )


def identities(plan: DemoPlan) -> Iterable[object]:
    protector = get_protector()
    number = 0
    for group in plan.people.identities.groups:
        kind = group.kind.value
        for position, customer in enumerate(group.customer.tolist()):
            number += 1
            value = group.values[position]
            yield Identity(
                id=number, customer_id=customer + 1, kind=kind, scope=group.scope,
                value_index=protector.blind_index(value, kind), value=value,
                source=group.sources[position],
                created_at=moment(int(group.created_at[position])),
                value_id=number, origin_customer_id=customer + 1,
            )


def links(plan: DemoPlan) -> Iterable[object]:
    """Each customer's smallest node linked to its others, as OneID links them."""
    held: dict[int, list[tuple[int, int]]] = {}
    number = 0
    for group in plan.people.identities.groups:
        for position, customer in enumerate(group.customer.tolist()):
            number += 1
            held.setdefault(customer, []).append((number, int(group.created_at[position])))
    link = 0
    for nodes in held.values():
        hub, hub_seen = min(nodes)
        for node, seen in sorted(nodes)[1:]:
            link += 1
            yield IdentityLink(id=link, value_a_id=hub, value_b_id=node,
                               first_seen_at=moment(max(hub_seen, seen)))


def consents(plan: DemoPlan) -> Iterable[object]:
    consent_plan = plan.people.consents
    for index in range(consent_plan.count):
        yield Consent(
            id=index + 1, customer_id=int(consent_plan.customer[index]) + 1,
            channel=consent_plan.channel[index], granted=bool(consent_plan.granted[index]),
            source=CONSENT_SOURCE, recorded_at=moment(int(consent_plan.recorded_at[index])),
            recorded_by="demo",
        )


def orders(plan: DemoPlan) -> Iterable[object]:
    order_plan = plan.orders
    external_ids = order_plan.external_ids(1, 0, order_plan.count)
    for index in range(order_plan.count):
        total, discount = int(order_plan.total_fen[index]), int(order_plan.discount_fen[index])
        yield Order(
            id=index + 1, source=SOURCES[order_plan.source[index]],
            external_order_id=external_ids[index],
            customer_id=int(order_plan.customer[index]) + 1,
            store_id=reference(int(order_plan.store[index])),
            channel_id=int(order_plan.channel[index]) + 1,
            status=STATUSES[order_plan.status[index]], total_fen=total, discount_fen=discount,
            paid_fen=total - discount, ordered_at=moment(int(order_plan.ordered_at[index])),
            paid_at=moment(int(order_plan.paid_at[index])),
            completed_at=moment(int(order_plan.completed_at[index])),
            refunded_at=moment(int(order_plan.refunded_at[index])),
            closed_at=moment(int(order_plan.closed_at[index])),
        )


def items(plan: DemoPlan) -> Iterable[object]:
    item_plan = plan.items
    for index in range(item_plan.count):
        product = int(item_plan.product[index])
        yield OrderItem(
            id=index + 1, order_id=int(item_plan.order[index]) + 1, product_id=product + 1,
            sku=PRODUCTS[product].sku, quantity=int(item_plan.quantity[index]),
            unit_price_fen=int(item_plan.unit_price_fen[index]),
            amount_fen=int(item_plan.amount_fen[index]),
        )


def orm_baseline(engine: Engine, options: DemoOptions) -> None:
    """The same plan, written through the ORM."""
    plan = plan_demo(options)
    tables = chain(
        organisation(plan, hash_password(DEMO_PASSWORD)),
        (list(build(plan)) for build in (customers, identity_values, identities, links,
                                         consents, orders, items)),
    )
    with Session(engine) as session:
        for objects in tables:  # a flush per table: the models declare no relationships
            session.add_all(objects)
            session.flush()
            session.expunge_all()
        session.commit()


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    configure_protector(DataProtector.from_master_key(secrets.token_bytes(32)))
    options = DemoOptions(customers=arguments.customers, seed=arguments.seed)
    with tempfile.TemporaryDirectory(prefix="yutang-bench-") as directory:
        bulk_engine = fresh_engine(Path(directory), "bulk.db")
        result = generate_demo(bulk_engine, options)
        bulk_seconds = result.seconds
        bulk_engine.dispose()
        orm_engine = fresh_engine(Path(directory), "orm.db")
        orm_seconds = timed(lambda: orm_baseline(orm_engine, options))
        orm_engine.dispose()
    rows = (result.customers + result.identities + result.consents + result.orders
            + result.order_items)
    print(f"demo merchant: {result.customers:,} customers, {result.identities:,} identities, "
          f"{result.consents:,} consents, {result.orders:,} orders, "
          f"{result.order_items:,} items; seed {arguments.seed}; SQLite")
    print(f"{'method':<34}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for name, seconds in (
        ("bulk generator (generate_demo)", bulk_seconds),
        ("baseline: ORM add_all + commit", orm_seconds),
    ):
        print(f"{name:<34}{rows:>12,}{seconds:>10.1f}{rows / seconds:>12,.0f}")
    print(f"speed-up: {orm_seconds / bulk_seconds:.1f}x")


if __name__ == "__main__":
    main()
