"""Fission tasks (任务宝): the public shapes (the API contract: keep field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yutang.fission.models import RewardKind


class FissionTaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    invite_target: int = Field(ge=1, le=1000, description="N: friends to invite")
    window_days: int = Field(ge=1, le=365, description="D: they must join within D days")
    reward_kind: RewardKind
    coupon_template_id: int | None = Field(default=None, gt=0)
    reward_points: int | None = Field(default=None, gt=0, le=10**9)
    product_sku: str | None = Field(default=None, min_length=1, max_length=64,
                                    description="purchase_right: the product one may buy")
    commission_points: int = Field(default=0, ge=0, le=10**9,
                                   description="Points per referee's first order to the "
                                               "direct referrer; refused unless commissions "
                                               "are on")
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @model_validator(mode="after")
    def _reward_of_the_kind(self) -> Self:
        fields = {RewardKind.COUPON: "coupon_template_id", RewardKind.POINTS: "reward_points",
                  RewardKind.PURCHASE_RIGHT: "product_sku"}
        if self.reward_kind not in fields:
            raise ValueError("a task rewards a coupon, points or a purchase right")
        given = {name for name in fields.values() if getattr(self, name) is not None}
        needed = fields[self.reward_kind]
        if needed not in given:
            raise ValueError(f"a {self.reward_kind.value} reward needs {needed}")
        if given - {needed}:
            raise ValueError(f"a {self.reward_kind.value} task gives no "
                             f"{', '.join(sorted(given - {needed}))}")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class FissionTaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str
    invite_target: int
    window_days: int
    reward_kind: str
    coupon_template_id: int | None
    reward_points: int | None
    product_sku: str | None
    commission_points: int
    starts_at: datetime
    ends_at: datetime | None
    created_at: datetime
    participants: int = 0
    completed: int = 0
    rewards_granted: int = 0


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(gt=0)


class RewardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: str
    customer_id: int
    task_id: int | None
    coupon_template_id: int | None
    points: int | None
    product_sku: str | None
    coupon_code: str | None
    attempts: int
    last_error: str
    created_at: datetime
    granted_at: datetime | None


class ParticipantRead(BaseModel):
    task_id: int
    customer_id: int
    code: str
    started_at: datetime
    deadline: datetime
    invite_target: int
    invited: int
    """Friends who came through the participant's code (every status)."""
    joined: int
    """Friends who joined before the deadline and count (rejected ones taken back)."""
    remaining: int
    completed_at: datetime | None
    reward: RewardRead | None


class PurchaseRightRead(BaseModel):
    customer_id: int
    product_sku: str
    task_id: int | None
    granted_at: datetime
