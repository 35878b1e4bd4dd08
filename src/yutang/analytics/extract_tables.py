"""What the analytics extract holds: one entry per operational table, and how it grows.

No personal data leaves the operational database: customers are extracted by their ids,
owners, acquisition and merge pointers only (names, phones and addresses stay encrypted where
they are). Every time is extracted as epoch seconds (``*_s``) and as the merchant's local day
number (``*_day``, days since 1970-01-01 in the merchant's time zone), and where months
matter as the local month (``*_month``, its first day): the metric SQL then needs no time
zone functions and reads the same on DuckDB and Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from yutang.access.models import User
from yutang.org.models import Store
from yutang.pool.models import (
    Channel,
    ChannelSpend,
    Customer,
    Event,
    Order,
    OrderItem,
    Touch,
)

AnySelect = Select[*tuple[Any, ...]]


def _column(model: type[Any], name: str) -> ColumnElement[Any]:
    column: ColumnElement[Any] = model.__table__.c[name]
    return column


class Growth(StrEnum):
    APPEND = "append"
    """Rows are only ever added: new rows are those above the highest id extracted."""
    VERSIONED = "versioned"
    """Rows change: new and changed rows are appended as new versions; the newest wins."""
    SNAPSHOT = "snapshot"
    """Small tables, extracted whole; a new file only when something differs."""


@dataclass(frozen=True)
class TimeColumn:
    source: str
    """The operational column (a UTC datetime)."""
    name: str
    """Prefix of the extracted columns ``<name>_s``, ``<name>_day`` (and ``<name>_month``)."""
    month: bool = False


@dataclass(frozen=True)
class ExtractTable:
    name: str
    growth: Growth
    statement: AnySelect
    """Every column but the times, which ``times`` lists."""
    times: tuple[TimeColumn, ...] = ()
    id_column: ColumnElement[Any] | None = None
    changed_column: ColumnElement[Any] | None = None
    """VERSIONED: a row with this time above the last extract's highest is extracted again."""
    change_times: tuple[ColumnElement[Any], ...] = ()
    """VERSIONED without a ``changed_column``: any of these times above the last highest."""


def _times(*names: tuple[str, str] | tuple[str, str, bool]) -> tuple[TimeColumn, ...]:
    return tuple(TimeColumn(*name) for name in names)


CUSTOMERS = ExtractTable(
    name="customers",
    growth=Growth.VERSIONED,
    statement=select(
        Customer.id, Customer.store_id, Customer.acquisition_channel_id,
        Customer.acquisition_staff_id, Customer.acquisition_code_id, Customer.gender,
        Customer.merged_into_id, Customer.acquired_at, Customer.updated_at,
    ),
    times=_times(("acquired_at", "acquired", True), ("updated_at", "updated")),
    id_column=_column(Customer, "id"),
    changed_column=_column(Customer, "updated_at"),
)

ORDERS = ExtractTable(
    name="orders",
    growth=Growth.VERSIONED,
    statement=select(
        Order.id, Order.source, Order.customer_id, Order.store_id, Order.channel_id,
        Order.status, Order.total_fen, Order.discount_fen, Order.paid_fen,
        Order.ordered_at, Order.paid_at, Order.completed_at, Order.refunded_at, Order.closed_at,
    ),
    times=_times(("ordered_at", "ordered", True), ("paid_at", "paid", True),
                 ("completed_at", "completed"), ("refunded_at", "refunded"),
                 ("closed_at", "closed")),
    id_column=_column(Order, "id"),
    change_times=tuple(_column(Order, name) for name in
                       ("paid_at", "completed_at", "refunded_at", "closed_at")),
)

ORDER_ITEMS = ExtractTable(
    name="order_items",
    growth=Growth.APPEND,
    statement=select(
        OrderItem.id, OrderItem.order_id, OrderItem.product_id, OrderItem.sku,
        OrderItem.quantity, OrderItem.unit_price_fen, OrderItem.amount_fen,
    ),
    id_column=_column(OrderItem, "id"),
)

EVENTS = ExtractTable(
    name="events",
    growth=Growth.APPEND,
    statement=select(Event.id, Event.type, Event.customer_id, Event.store_id, Event.channel_id,
                     Event.occurred_at),
    times=_times(("occurred_at", "occurred")),
    id_column=_column(Event, "id"),
)

TOUCHES = ExtractTable(
    name="touches",
    growth=Growth.APPEND,
    statement=select(Touch.id, Touch.customer_id, Touch.kind, Touch.channel_id, Touch.store_id,
                     Touch.staff_user_id, Touch.code_id, Touch.at),
    times=_times(("at", "touched")),
    id_column=_column(Touch, "id"),
)

CHANNELS = ExtractTable(
    name="channels",
    growth=Growth.SNAPSHOT,
    statement=select(Channel.id, Channel.code, Channel.name, Channel.kind, Channel.domain,
                     Channel.store_id).order_by(Channel.id),
)

CHANNEL_SPEND = ExtractTable(
    name="channel_spend",
    growth=Growth.SNAPSHOT,
    statement=select(ChannelSpend.channel_id, ChannelSpend.month, ChannelSpend.amount_fen)
    .order_by(ChannelSpend.channel_id, ChannelSpend.month),
)

STORES = ExtractTable(
    name="stores",
    growth=Growth.SNAPSHOT,
    statement=select(Store.id, Store.code, Store.name, Store.city, Store.region_id)
    .order_by(Store.id),
)

STAFF = ExtractTable(
    name="staff",
    growth=Growth.SNAPSHOT,
    statement=select(User.id, User.username, User.display_name, User.role, User.store_id)
    .order_by(User.id),
)

TABLES: tuple[ExtractTable, ...] = (
    CUSTOMERS, ORDERS, ORDER_ITEMS, EVENTS, TOUCHES, CHANNELS, CHANNEL_SPEND, STORES, STAFF,
)
