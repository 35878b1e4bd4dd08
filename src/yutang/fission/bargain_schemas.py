"""Bargaining's public shapes (the API contract: keep field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_FEN = 10**12
MAX_HELPS = 1_000


class BargainStart(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int = Field(ge=1, description="Who starts the bargain.")
    product_sku: str = Field(min_length=1, max_length=64)
    list_price_fen: int = Field(ge=1, le=MAX_FEN)
    floor_price_fen: int = Field(ge=0, le=MAX_FEN,
                                 description="The price once every help came in.")
    helps_needed: int = Field(ge=1, le=MAX_HELPS, description="Friends' helps to the floor.")
    time_limit_minutes: int = Field(ge=1, le=60 * 24 * 30)
    seed: int | None = Field(default=None, ge=0, lt=2**62,
                             description="Seed of the cuts (drawn at random if absent).")

    @model_validator(mode="after")
    def _gap_covers_helps(self) -> Self:
        if self.floor_price_fen >= self.list_price_fen:
            raise ValueError("floor_price_fen must be below list_price_fen")
        if self.list_price_fen - self.floor_price_fen < self.helps_needed:
            raise ValueError("every help cuts at least 1 fen: the gap between list and floor "
                             "price must be at least helps_needed")
        return self


class BargainHelpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1, description="The friend who helps.")


class BargainHelpRead(BaseModel):
    customer_id: int
    sequence: int
    cut_fen: int
    helped_at: datetime


class BargainRead(BaseModel):
    id: int
    customer_id: int
    product_sku: str
    list_price_fen: int
    floor_price_fen: int
    current_price_fen: int
    cut_fen: int
    helps_needed: int
    helps_done: int
    status: str
    started_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    helps: list[BargainHelpRead]


class HelpResult(BaseModel):
    """The cut one friend's help made, and where the bargain stands after it."""

    bargain_id: int
    customer_id: int
    sequence: int
    cut_fen: int
    current_price_fen: int
    helps_done: int
    helps_needed: int
    status: str
    helped_at: datetime


class BargainExpiryResult(BaseModel):
    bargains_expired: int
