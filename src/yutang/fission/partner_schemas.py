"""Partners (友商): the public shapes (the API contract: keep field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartnerCreate(_In):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=100)
    category: str = Field(default="", max_length=64)
    outbound_code: str = Field(default="", max_length=64,
                               description="The partner's referral code for sending them "
                                           "our customers")


class PartnerOfferCreate(_In):
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    price_fen: int | None = Field(default=None, ge=0, le=10**12)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class PartnerOfferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    partner_id: int
    title: str
    description: str
    price_fen: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


class PartnerReferralIn(_In):
    customer_id: int = Field(gt=0, description="Our customer, sent to the partner")
    offer_id: int | None = Field(default=None, gt=0)


class PartnerReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    partner_id: int
    customer_id: int
    offer_id: int | None
    sent_at: datetime


class PartnerRead(BaseModel):
    id: int
    code: str
    name: str
    category: str
    inbound_code: str
    """Our referral code for the partner to share: their customers who come through it are
    attributed to the partner."""
    inbound_url: str
    outbound_code: str
    is_active: bool
    created_at: datetime
    sent_to_us: int
    """Customers the partner sent us (referral edges through the inbound code, not
    rejected)."""
    joined_from_them: int
    sent_to_them: int
    """Our customers we sent the partner (each counted once)."""
    offers: list[PartnerOfferRead] = Field(default_factory=list)
