from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from yutang.pool.channel_schemas import AcquisitionRead


class CustomerRead(BaseModel):
    """A customer as one caller may see it: masked, revealed, or pseudonymous only."""

    model_config = ConfigDict(from_attributes=True)

    id: int | None
    pseudonym: str
    store_id: int | None
    store_code: str | None = None
    acquisition_channel: str | None = None
    acquired_at: datetime
    acquisition: AcquisitionRead | None = None
    """First touch: channel, store, staff, channel code and when."""
    name: str | None = None
    phone: str | None = None
    gender: str | None = None
    birthday: str | None = None
    address: str | None = None
    nickname: str | None = None
    personal_data: str
    """``masked``, ``revealed`` or ``pseudonymous``: what the personal fields above hold."""


class IdentityRead(BaseModel):
    id: int
    kind: str
    scope: str
    value: str
    source: str
    created_at: datetime
    status: str = "usable"
    """``usable`` (links records into this person), ``weak`` (recorded only), ``placeholder``,
    ``malformed``, ``shared`` or ``detached`` (recorded, never links)."""


class MergeRead(BaseModel):
    id: int
    at: datetime
    action: str
    customers_before: list[int]
    customers_after: list[int]
    trigger: str
    trigger_ref: str
    actor_name: str


class ConsentRead(BaseModel):
    channel: str
    granted: bool
    source: str
    recorded_at: datetime
    recorded_by: str


class OrderItemRead(BaseModel):
    sku: str
    quantity: int
    unit_price_fen: int
    amount_fen: int


class OrderRead(BaseModel):
    id: int
    source: str
    external_order_id: str
    status: str
    store_id: int | None
    total_fen: int
    discount_fen: int
    paid_fen: int
    ordered_at: datetime
    paid_at: datetime | None
    completed_at: datetime | None
    refunded_at: datetime | None
    closed_at: datetime | None
    items: list[OrderItemRead]


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    """``audit``, ``order``, ``event`` or ``consent``."""
    action: str
    actor: str | None = None
    details: dict[str, Any] = {}


class CustomerDetail(BaseModel):
    customer: CustomerRead
    identities: list[IdentityRead]
    consents: list[ConsentRead]
    current_consent: dict[str, bool]
    orders: list[OrderRead]
    tags: list[str]
    timeline: list[TimelineEntry]
    merges: list[MergeRead] = []


class CustomerPage(BaseModel):
    items: list[CustomerRead]
    total: int
    page: int
    size: int


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str


class MonthlyPoint(BaseModel):
    month: str
    value: int


class OverviewNumbers(BaseModel):
    customers: int
    new_customers_30d: int
    gmv_fen_30d: int
    orders_30d: int
    pool_size_by_month: list[MonthlyPoint]
    new_customers_by_channel: dict[str, list[MonthlyPoint]]
    gmv_by_month: list[MonthlyPoint]
    months: list[str]


class DetachRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str


class DetachResult(BaseModel):
    customer_ids: list[int]
    """The customer the identity was detached from first, then those split off it."""


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str


class TagResult(BaseModel):
    tag: str
    tagged: int
