"""Payloads of the ingestion API (public contract: keep field names and codes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_EVENTS_PER_CALL = 1000
MAX_ORDERS_PER_CALL = 1000

KNOWN_EVENT_TYPES = frozenset({
    "view", "add_to_cart", "checkout", "pay", "complete", "refund", "scan_code", "add_contact",
    "join_group", "leave_group", "message", "share", "coupon_claim", "red_packet_claim",
    "leave",
})
"""Types the product understands; any other (custom) type is kept as it comes."""


class ScopedValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=0, max_length=256)
    scope: str = Field(default="", max_length=64)


IdentityMap = dict[str, str | int | ScopedValue]
"""``{kind: value}``; a scoped kind (``wechat_openid``) may give ``{"value", "scope"}``."""


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    occurred_at: AwareDatetime
    identities: IdentityMap = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    store: str | None = Field(default=None, max_length=32)


class EventBatch(BaseModel):
    events: list[dict[str, Any]]


class Rejection(BaseModel):
    index: int
    code: str
    message: str


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejection]


class OrderItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=100_000)
    unit_price_fen: int = Field(ge=0)
    amount_fen: int | None = Field(default=None, ge=0)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    external_order_id: str = Field(min_length=1, max_length=64)
    status: str = Field(pattern=r"^(created|paid|completed|refunded|closed)$")
    identities: IdentityMap = Field(default_factory=dict)
    store: str | None = Field(default=None, max_length=32)
    channel: str | None = Field(default=None, max_length=64)
    ordered_at: AwareDatetime
    paid_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    refunded_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    total_fen: int | None = Field(default=None, ge=0)
    discount_fen: int = Field(default=0, ge=0)
    paid_fen: int | None = Field(default=None, ge=0)
    items: list[OrderItemIn] = Field(default_factory=list, max_length=500)

    @field_validator("items")
    @classmethod
    def _amounts(cls, items: list[OrderItemIn]) -> list[OrderItemIn]:
        for item in items:
            if item.amount_fen is None:
                item.amount_fen = item.quantity * item.unit_price_fen
        return items


class OrderBatch(BaseModel):
    orders: list[dict[str, Any]]


class OrderBatchResult(BatchResult):
    updated: int


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identities: IdentityMap
    profile: dict[str, str | None] = Field(default_factory=dict)
    store: str | None = Field(default=None, max_length=32)
    consent: dict[str, bool] = Field(default_factory=dict)
    acquired_at: datetime | None = None
