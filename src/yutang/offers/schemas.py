"""Offers' public shapes (the API contract: keep field names)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yutang.offers.models import ClaimSource, CouponKind, Stacking, WelcomeTrigger

IdempotencyKey = Field(min_length=1, max_length=128,
                       description="The client's key for this write; a replay returns the "
                                   "first result.")
Fen = Field(gt=0, le=10**12)


class Write(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    idempotency_key: str = IdempotencyKey

    def request(self) -> dict[str, Any]:
        """The request without its key (what a replay must repeat)."""
        return self.model_dump(mode="json", exclude={"idempotency_key"})


class ScopeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stores: list[str] = Field(default_factory=list, max_length=500)
    channels: list[str] = Field(default_factory=list, max_length=500)
    skus: list[str] = Field(default_factory=list, max_length=500)


class CouponTemplateCreate(Write):
    name: str = Field(min_length=1, max_length=100)
    kind: CouponKind
    threshold_fen: int = Field(default=0, ge=0)
    discount_fen: int | None = Field(default=None, gt=0)
    rate: Decimal | None = Field(default=None, gt=0, lt=1, max_digits=5, decimal_places=4,
                                 description="The share of the price paid: 0.85 = 八五折")
    cap_fen: int | None = Field(default=None, gt=0)
    gift_sku: str | None = Field(default=None, min_length=1, max_length=64)
    add_on_sku: str | None = Field(default=None, min_length=1, max_length=64)
    add_on_price_fen: int | None = Field(default=None, ge=0)
    bundle_skus: list[str] = Field(default_factory=list, max_length=20)
    bundle_price_fen: int | None = Field(default=None, ge=0)
    stock: int | None = Field(default=None, ge=0, description="None: unlimited")
    per_customer_limit: int | None = Field(default=None, ge=1)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = Field(default=None, ge=1, le=3660)
    scope: ScopeIn = Field(default_factory=ScopeIn)
    stacking: Stacking = Stacking.EXCLUSIVE
    welcome_trigger: WelcomeTrigger | None = None
    welcome_code: str = Field(default="", max_length=30,
                              description="channel_code welcome: one code's state, or any")

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Self:
        needed = {
            CouponKind.THRESHOLD: ("discount_fen",),
            CouponKind.DISCOUNT: ("rate",),
            CouponKind.GIFT: ("gift_sku",),
            CouponKind.ADD_ON: ("add_on_sku", "add_on_price_fen"),
            CouponKind.BUNDLE: ("bundle_price_fen",),
        }[self.kind]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind.value} coupon needs {', '.join(missing)}")
        if self.kind is CouponKind.BUNDLE and len(self.bundle_skus) < 2:
            raise ValueError("a bundle names at least two bundle_skus")
        if self.rate is not None and (self.rate * 10000) % 1:
            raise ValueError("rate has at most four decimal places")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if self.valid_until is None and self.valid_days is None:
            raise ValueError("give valid_until, valid_days or both")
        return self


class CouponTemplateRead(BaseModel):
    id: int
    name: str
    kind: str
    status: str
    threshold_fen: int
    discount_fen: int
    rate: float | None
    cap_fen: int | None
    gift_sku: str | None
    add_on_sku: str | None
    add_on_price_fen: int | None
    bundle_skus: list[str]
    bundle_price_fen: int | None
    stock: int | None
    issued: int
    remaining: int | None
    redeemed: int
    per_customer_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    scope: ScopeIn
    stacking: str
    welcome_trigger: str | None
    welcome_code: str
    created_at: datetime


class ClaimIn(Write):
    customer_id: int = Field(gt=0)
    source: ClaimSource = ClaimSource.API


class CouponRead(BaseModel):
    id: int
    code: str
    template_id: int
    template_name: str
    kind: str
    customer_id: int
    status: str
    source: str
    valid_from: datetime
    valid_until: datetime | None
    claimed_at: datetime
    order_id: int | None
    discount_fen: int
    redeemed_at: datetime | None


class OrderRef(Write):
    """An order known to yutang: its id, or its source and the merchant's order number."""

    order_id: int | None = Field(default=None, gt=0)
    source: str | None = Field(default=None, max_length=32)
    external_order_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_reference(self) -> Self:
        if self.order_id is None and self.external_order_id is None:
            raise ValueError("give order_id or external_order_id")
        return self


class RedemptionIn(OrderRef):
    pass


class RedemptionRead(BaseModel):
    coupon: CouponRead
    order_id: int
    discount_fen: int
    gift_sku: str | None = None


class CouponActionIn(Write):
    reason: str = Field(default="", max_length=200)


class TopUpPlanCreate(Write):
    name: str = Field(min_length=1, max_length=100)
    pay_fen: int = Fen
    bonus_fen: int = Field(ge=0, le=10**12)


class TopUpPlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    pay_fen: int
    bonus_fen: int
    is_active: bool


class TopUpIn(Write):
    amount_fen: int = Fen
    plan_id: int | None = Field(default=None, gt=0)


class ChargeIn(Write):
    amount_fen: int = Fen
    order_id: int | None = Field(default=None, gt=0)
    source: str | None = Field(default=None, max_length=32)
    external_order_id: str | None = Field(default=None, min_length=1, max_length=64)


class StoredValueRefundIn(ChargeIn):
    """With an order: its charge goes back to the balance. Without: principal is paid back
    to the customer (a cash refund)."""


class StoredValueTransactionRead(BaseModel):
    transaction_id: int
    kind: str
    customer_id: int
    at: datetime
    amount_fen: int
    principal_fen: int
    """The change of the principal (signed)."""
    bonus_fen: int
    """The change of the bonus (signed)."""
    order_id: int | None
    reference: str
    balance_fen: int
    principal_balance_fen: int
    bonus_balance_fen: int


class LedgerEntryRead(BaseModel):
    transaction_id: int
    kind: str
    at: datetime
    principal_fen: int
    bonus_fen: int
    order_id: int | None
    reference: str


class StoredValueRead(BaseModel):
    customer_id: int
    balance_fen: int
    principal_fen: int
    bonus_fen: int
    entries: list[LedgerEntryRead]


class PointsEarnIn(Write):
    points: int | None = Field(default=None, gt=0, le=10**12)
    amount_fen: int | None = Field(default=None, gt=0, le=10**12,
                                   description="Spend that earns points by the policy")
    order_id: int | None = Field(default=None, gt=0)
    reference: str = Field(default="", max_length=128)

    @model_validator(mode="after")
    def _points_or_spend(self) -> Self:
        if (self.points is None) == (self.amount_fen is None):
            raise ValueError("give points or amount_fen")
        return self


class PointsRedeemIn(Write):
    points: int = Field(gt=0, le=10**12)
    order_id: int | None = Field(default=None, gt=0)
    reference: str = Field(default="", max_length=128)


class PointsTransactionRead(BaseModel):
    transaction_id: int
    kind: str
    customer_id: int
    at: datetime
    points: int
    balance: int


class PointsEntryRead(BaseModel):
    transaction_id: int
    kind: str
    at: datetime
    points: int
    order_id: int | None
    reference: str


class PointsLotRead(BaseModel):
    earned: int
    remaining: int
    earned_at: datetime
    expires_at: datetime


class PointsRead(BaseModel):
    customer_id: int
    balance: int
    entries: list[PointsEntryRead]
    lots: list[PointsLotRead]


class MembershipTierCreate(Write):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=64)
    rank: int = Field(ge=0, le=1000)
    min_spend_fen: int = Field(default=0, ge=0)
    min_points: int = Field(default=0, ge=0)


class MembershipTierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    rank: int
    min_spend_fen: int
    min_points: int


class TierChangeRead(BaseModel):
    at: datetime
    from_tier: str | None
    tier: str | None
    is_super_user: bool
    spend_fen: int
    points: int
    reason: str


class MemberRead(BaseModel):
    customer_id: int
    tier: str | None
    tier_name: str | None
    is_super_user: bool
    history: list[TierChangeRead]


class RegradeResult(BaseModel):
    customers: int
    changed: int
    super_users: int


class SweepResult(BaseModel):
    coupons_expired: int
    coupons_released: int
    points_expired: int
    welcome_coupons: int


class ReconciliationLine(BaseModel):
    kind: str
    principal_fen: int
    bonus_fen: int


class ReconciliationRead(BaseModel):
    day: date
    opening_principal_fen: int
    opening_bonus_fen: int
    movements: list[ReconciliationLine]
    closing_principal_fen: int
    closing_bonus_fen: int
    customer_liabilities_fen: int
    """The sum of customers' stored-value balances at the close of the day."""
    merchant_side_fen: int
    """Minus the sum of the merchant accounts' fen entries: equal to the liabilities."""
    points_outstanding: int
    unbalanced_transactions: list[int]
    balance_mismatches: list[int]
    """Accounts whose running balance differs from the sum of their entries."""
    negative_balances: list[int]
    ok: bool
