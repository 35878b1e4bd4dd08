"""Referral codes and edges: the public shapes (the API contract: keep field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yutang.fission.models import EdgeStatus, OwnerKind


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReferralCodeCreate(_In):
    owner_kind: OwnerKind = OwnerKind.CUSTOMER
    customer_id: int | None = Field(default=None, gt=0,
                                    description="The owner, for customer and koc codes")
    staff_username: str | None = Field(default=None, min_length=1, max_length=64,
                                       description="The owner, for staff codes")

    @model_validator(mode="after")
    def _owner_of_the_kind(self) -> Self:
        if self.owner_kind is OwnerKind.PARTNER:
            raise ValueError("partner codes are made with the partner (POST /partners)")
        if self.owner_kind is OwnerKind.STAFF:
            if self.staff_username is None or self.customer_id is not None:
                raise ValueError("a staff code names staff_username only")
        elif self.customer_id is None or self.staff_username is not None:
            raise ValueError(f"a {self.owner_kind.value} code names customer_id only")
        return self


class ReferralCodeRead(BaseModel):
    id: int
    code: str
    url: str
    owner_kind: str
    customer_id: int | None
    staff_user_id: int | None
    partner_id: int | None
    task_id: int | None
    store_id: int | None
    is_active: bool
    created_at: datetime
    referrals: int = 0
    """Edges made through the code (every status)."""
    joined: int = 0
    """Of them, how many joined (a group or as a contact)."""


class ReferralIn(_In):
    code: str = Field(min_length=1, max_length=24)
    customer_id: int = Field(gt=0, description="The referred customer")
    status: EdgeStatus = Field(default=EdgeStatus.CLICKED,
                               description="clicked, or joined when the friend joined at once")
    at: datetime | None = Field(default=None, description="When it happened (default: now)")

    @model_validator(mode="after")
    def _first_steps_only(self) -> Self:
        if self.status not in (EdgeStatus.CLICKED, EdgeStatus.JOINED):
            raise ValueError("a referral is recorded as clicked or joined")
        return self


class ReferralTransitionIn(_In):
    status: EdgeStatus
    reason: str = Field(default="", max_length=200, description="Why it was rejected")
    order_id: int | None = Field(default=None, gt=0, description="The first order")
    at: datetime | None = None

    @model_validator(mode="after")
    def _a_next_step(self) -> Self:
        if self.status is EdgeStatus.CLICKED:
            raise ValueError("clicked is where an edge starts, not a transition")
        if self.status is EdgeStatus.REJECTED and len(self.reason) < 2:
            raise ValueError("say why the referral is rejected")
        return self


class ReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code_id: int
    task_id: int | None
    referrer_kind: str
    referrer_customer_id: int | None
    referrer_staff_id: int | None
    referrer_partner_id: int | None
    customer_id: int = Field(validation_alias="referee_customer_id")
    status: str
    clicked_at: datetime
    joined_at: datetime | None
    first_order_at: datetime | None
    first_order_id: int | None
    rewarded_at: datetime | None
    rejected_at: datetime | None
    rejection_reason: str
