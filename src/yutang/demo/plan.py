"""The whole demo merchant as numpy arrays and lists, drawn from one seed; nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from yutang.access.roles import Role
from yutang.demo.behaviour import OrderValueModel, PurchaseProcess
from yutang.demo.catalog import ChannelPlan, StorePlan, plan_channels, plan_stores
from yutang.demo.customers import (
    AcquisitionWindow,
    ConsentPlan,
    CustomerPlan,
    IdentityPlan,
    plan_consents,
    plan_customers,
    plan_identities,
)
from yutang.demo.draws import generator
from yutang.demo.oneid_truth import OneIdPlan, plan_oneid
from yutang.demo.orders import ItemPlan, OrderPlan, plan_orders
from yutang.demo.spend import SpendPlan, plan_spend
from yutang.kit.clock import add_months, local_day_start_utc, month_start
from yutang.pool.oneid import DEFAULT_POLICY, OneIdPolicy

OWNER_USERNAME = "admin"

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``."""

# Independent random streams per planner, so that changing one planner leaves the data of the
# others as it was. Append new planners at the end.
STREAMS = {"customers": 6, "identities": 1, "consents": 1, "orders": 6, "spend": 1, "oneid": 1}
PLANNING = "planning"
PLANNING_STEPS = 4


@dataclass(frozen=True)
class DemoOptions:
    customers: int = 20_000
    stores: int = 12
    seed: int = 7
    months: int = 24
    """Customers were acquired over this many calendar months before ``today``."""
    today: date = date(2026, 11, 1)
    """The observation end is the start of this day in Asia/Shanghai."""
    purchases: PurchaseProcess = field(default_factory=PurchaseProcess)
    order_values: OrderValueModel = field(default_factory=OrderValueModel)
    crypto_workers: int | None = None
    """Processes that encrypt during the load; ``None`` picks by size (none when small)."""
    oneid: OneIdPolicy = DEFAULT_POLICY
    """Which identity kinds are weak in the graph the demo writes."""

    @property
    def window(self) -> AcquisitionWindow:
        first_month = add_months(month_start(self.today), -self.months)
        return AcquisitionWindow(
            start=int(local_day_start_utc(first_month).timestamp()),
            end=int(local_day_start_utc(self.today).timestamp()),
        )


@dataclass(frozen=True)
class UserPlan:
    username: str
    display_name: str
    role: Role
    store_index: int | None = None


def plan_users(stores: list[StorePlan]) -> list[UserPlan]:
    """One user of every chain-wide role, and a manager and two staff per store."""
    users = [
        UserPlan(OWNER_USERNAME, "老板", Role.OWNER),
        UserPlan("hq", "总部运营", Role.HQ_OPERATOR),
        UserPlan("analyst", "数据分析师", Role.ANALYST),
        UserPlan("auditor", "审计专员", Role.AUDITOR),
    ]
    for index, store in enumerate(stores):
        prefix = store.staff_prefix
        users.append(UserPlan(f"{prefix}_manager", f"{store.code} 店长", Role.STORE_MANAGER, index))
        users.extend(
            UserPlan(f"{prefix}_staff{number}", f"{store.code} 导购{number}", Role.STAFF, index)
            for number in (1, 2)
        )
    return users


@dataclass(frozen=True)
class PeoplePlan:
    """The chain and its customers: everything but what they bought."""

    window: AcquisitionWindow
    stores: list[StorePlan]
    users: list[UserPlan]
    channels: list[ChannelPlan]
    customers: CustomerPlan
    identities: IdentityPlan
    """What the bulk load writes: without the split identities, with the look-alikes."""
    consents: ConsentPlan
    oneid: OneIdPlan
    """Replayed through OneID after the load (``oneid_truth``)."""


@dataclass(frozen=True)
class DemoPlan:
    people: PeoplePlan
    orders: OrderPlan
    items: ItemPlan
    spend: SpendPlan


def ignore_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: silence."""


def _streams(seed: int) -> dict[str, list[np.random.Generator]]:
    children = iter(np.random.SeedSequence(seed).spawn(sum(STREAMS.values())))
    return {
        name: [generator(next(children)) for _ in range(count)]
        for name, count in STREAMS.items()
    }


def plan_people(options: DemoOptions, progress: Progress = ignore_progress) -> PeoplePlan:
    """Stores, staff, channels, customers, their identities and consents."""
    streams = _streams(options.seed)
    window = options.window
    stores = plan_stores(options.stores)
    channels = plan_channels(stores)
    progress(PLANNING, 0, PLANNING_STEPS)
    customers = plan_customers(
        streams["customers"], count=options.customers, window=window, stores=stores,
        channels=channels,
    )
    progress(PLANNING, 1, PLANNING_STEPS)
    identities = plan_identities(streams["identities"][0], customers, window)
    consents = plan_consents(streams["consents"][0], customers, identities, window)
    identities, oneid = plan_oneid(streams["oneid"][0], customers, identities, window)
    progress(PLANNING, 2, PLANNING_STEPS)
    return PeoplePlan(
        window=window, stores=stores, users=plan_users(stores), channels=channels,
        customers=customers, identities=identities, consents=consents, oneid=oneid,
    )


def plan_purchases(
    options: DemoOptions, people: PeoplePlan, progress: Progress = ignore_progress
) -> DemoPlan:
    """Orders and items by the planted behaviour, and what the channels cost."""
    streams = _streams(options.seed)
    orders, items = plan_orders(
        streams["orders"], customers=people.customers, identities=people.identities,
        channels=people.channels, window=people.window, process=options.purchases,
        values=options.order_values,
    )
    progress(PLANNING, 3, PLANNING_STEPS)
    spend = plan_spend(streams["spend"][0], people.customers, people.channels, people.window,
                       options.months)
    progress(PLANNING, 4, PLANNING_STEPS)
    return DemoPlan(people=people, orders=orders, items=items, spend=spend)


def plan_demo(options: DemoOptions, progress: Progress = ignore_progress) -> DemoPlan:
    """Everything the demo holds; the same options give the same plan."""
    return plan_purchases(options, plan_people(options, progress), progress)
