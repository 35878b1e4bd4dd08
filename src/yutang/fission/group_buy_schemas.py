"""Group-buy's public shapes (the API contract: keep field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_FEN = 10**12


class GroupBuyDealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(default="", max_length=100)
    product_sku: str = Field(min_length=1, max_length=64)
    bait_price_fen: int = Field(ge=1, le=MAX_FEN, description="The group-buy price (fen).")
    list_price_fen: int = Field(ge=1, le=MAX_FEN, description="The usual price (fen).")
    full_order_threshold_fen: int | None = Field(
        default=None, ge=1, le=MAX_FEN,
        description="A later order paying at least this much counts as a full-price order "
                    "even without the deal's product.")
    team_size: int = Field(ge=2, le=100)
    time_limit_minutes: int = Field(ge=1, le=60 * 24 * 30)
    stock: int = Field(ge=1, le=10**9, description="Seats the deal may sell in all.")
    store: str | None = Field(default=None, max_length=32,
                              description="A store's own deal (its code); none: the chain.")

    @model_validator(mode="after")
    def _bait_below_list(self) -> Self:
        if self.bait_price_fen > self.list_price_fen:
            raise ValueError("bait_price_fen must not exceed list_price_fen")
        return self


class GroupBuyDealRead(BaseModel):
    id: int
    name: str
    product_sku: str
    bait_price_fen: int
    list_price_fen: int
    full_order_threshold_fen: int | None
    team_size: int
    time_limit_minutes: int
    stock: int
    sold: int
    remaining: int
    status: str
    store_id: int | None
    created_at: datetime


class TeamOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leader_customer_id: int = Field(ge=1)


class TeamJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1)


class TeamMemberRead(BaseModel):
    customer_id: int
    joined_at: datetime
    order_id: int
    seat: int
    refunded_at: datetime | None = None


class TeamRead(BaseModel):
    id: int
    deal_id: int
    status: str
    expires_at: datetime
    members: list[TeamMemberRead]
    leader_customer_id: int
    team_size: int
    opened_at: datetime
    succeeded_at: datetime | None
    failed_at: datetime | None


class ExpiryResult(BaseModel):
    teams_failed: int
    members_refunded: int
    refunded_fen: int


class ConvertedBuyer(BaseModel):
    customer_id: int
    bait_order_id: int
    bait_at: datetime
    full_order_id: int | None
    full_at: datetime | None
    days_to_full: float | None


class ConversionRead(BaseModel):
    """Bait buyers (members of succeeded teams) and who of them later bought at full price."""

    deal_id: int
    bait_buyers: int
    converted: int
    conversion_rate: float | None
    median_days_to_full: float | None
    mean_days_to_full: float | None
    converted_within_days: dict[str, int]
    """``{"7": n, "30": n, "90": n}``: converted buyers whose first full order came within so
    many days of their bait order."""
    buyers: list[ConvertedBuyer]
