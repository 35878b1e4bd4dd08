"""Offers: coupon templates and coupons, the double-entry ledger behind stored value and
points, membership tiers, and the idempotency records of every write.

Merges: every customer-owned row has a real foreign key to ``customer.id`` so a OneID merge
re-points it (``pool.graph_repository.customer_reference_columns``). No unique constraint
includes a ``customer_id``: a merge would move two rows onto one customer and break it.
Uniqueness that must hold per customer uses a key fixed when the row is made (the customer
id *at that time*), and readers treat several rows of one customer as one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, UTCDateTime


class CouponKind(StrEnum):
    THRESHOLD = "threshold"
    """满减: spend at least ``threshold_fen``, ``discount_fen`` off."""
    DISCOUNT = "discount"
    """折扣: pay ``rate`` of the price (0.85 = 八五折), the discount capped at ``cap_fen``."""
    GIFT = "gift"
    """满赠: spend at least ``threshold_fen``, get ``gift_sku`` free."""
    ADD_ON = "add_on"
    """加价购: spend at least ``threshold_fen``, buy ``add_on_sku`` for ``add_on_price_fen``."""
    BUNDLE = "bundle"
    """套餐: ``bundle_skus`` together for ``bundle_price_fen``."""


class Stacking(StrEnum):
    EXCLUSIVE = "exclusive"
    """The only coupon on its order."""
    STACKABLE = "stackable"
    """May share an order with other stackable coupons."""


class TemplateStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    """No more claims; coupons already claimed stay usable."""


class CouponStatus(StrEnum):
    AVAILABLE = "available"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    VOIDED = "voided"


class ClaimSource(StrEnum):
    API = "api"
    CONSOLE = "console"
    CAMPAIGN = "campaign"
    FISSION = "fission"
    WELCOME = "welcome"


class WelcomeTrigger(StrEnum):
    CHANNEL_CODE = "channel_code"
    """The customer added staff through a channel code (``welcome_code``: one code's state,
    or empty for any code)."""
    GROUP_JOIN = "group_join"
    """The customer joined a customer group."""


class CouponTemplate(Base):
    """What a coupon gives, to whom, how many and until when; ``issued`` never exceeds
    ``stock`` (one conditional UPDATE per claim)."""

    __tablename__ = "coupon_template"
    __table_args__ = (
        CheckConstraint("stock IS NULL OR issued <= stock", name="issued_within_stock"),
        CheckConstraint("issued >= 0", name="issued_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=TemplateStatus.ACTIVE.value)
    threshold_fen: Mapped[int] = mapped_column(default=0)
    discount_fen: Mapped[int] = mapped_column(default=0)
    rate_bp: Mapped[int | None] = mapped_column()
    """Discount coupons: the share of the price paid, in basis points (8500 = 85%)."""
    cap_fen: Mapped[int | None] = mapped_column()
    gift_sku: Mapped[str | None] = mapped_column(String(64))
    add_on_sku: Mapped[str | None] = mapped_column(String(64))
    add_on_price_fen: Mapped[int | None] = mapped_column()
    bundle_skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    bundle_price_fen: Mapped[int | None] = mapped_column()
    stock: Mapped[int | None] = mapped_column()
    """``None``: unlimited."""
    issued: Mapped[int] = mapped_column(default=0)
    per_customer_limit: Mapped[int | None] = mapped_column()
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column()
    """Coupons are valid for this many days after their claim (within ``valid_until``)."""
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """``{"stores": [codes], "store_ids": [...], "channels": [codes], "channel_ids": [...],
    "skus": [...]}``; an empty list means no restriction."""
    stacking: Mapped[str] = mapped_column(String(16), default=Stacking.EXCLUSIVE.value)
    welcome_trigger: Mapped[str | None] = mapped_column(String(16))
    welcome_code: Mapped[str] = mapped_column(String(30), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(Base):
    """One coupon held by one customer; redeemed at most once at a time (a conditional
    UPDATE from ``available``)."""

    __tablename__ = "coupon"
    __table_args__ = (
        Index("ix_coupon_template_customer", "template_id", "customer_id"),
        Index("ix_coupon_status_valid_until", "status", "valid_until"),
        # the coupons on an order by status: a redemption's view and its UPDATE ask for the
        # order's redeemed coupons (with status second, no statistics can make the planner
        # prefer scanning every redeemed coupon by ``ix_coupon_status_valid_until``)
        Index("ix_coupon_order_id_status", "order_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CouponStatus.AVAILABLE.value)
    source: Mapped[str] = mapped_column(String(16), default=ClaimSource.API.value)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("customer_order.id"))
    """The order it is redeemed against, while redeemed."""
    discount_fen: Mapped[int] = mapped_column(default=0)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When it expired or was voided."""


class CouponClaimCounter(Base):
    """Claims of a template by a customer, for the per-customer limit (one conditional
    UPDATE per claim). ``holder_key`` is the customer id when the row was made: after a
    merge a customer may own several counters, and the older ones are frozen."""

    __tablename__ = "coupon_claim_counter"
    __table_args__ = (
        UniqueConstraint("template_id", "holder_key"),
        Index("ix_coupon_claim_counter_customer_template", "customer_id", "template_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    holder_key: Mapped[int] = mapped_column()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    claimed: Mapped[int] = mapped_column(default=0)


class CouponEventKind(StrEnum):
    CLAIMED = "claimed"
    REDEEMED = "redeemed"
    RELEASED = "released"
    EXPIRED = "expired"
    VOIDED = "voided"


class CouponEvent(Base):
    """The coupon's timeline (append-only): claimed, redeemed, released, expired, voided."""

    __tablename__ = "coupon_event"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupon.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("customer_order.id"), index=True)
    discount_fen: Mapped[int] = mapped_column(default=0)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WelcomeGrant(Base):
    """A welcome coupon granted once per (template, customer, trigger); ``grant_key`` holds
    the customer id at grant time (see the module docstring)."""

    __tablename__ = "welcome_grant"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    grant_key: Mapped[str] = mapped_column(String(120), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(64))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- the ledger ----------------------------------------------------------------------------


class AccountKind(StrEnum):
    # the customer's side: what the merchant owes (credit-normal, never negative)
    STORED_VALUE_PRINCIPAL = "stored_value_principal"
    STORED_VALUE_BONUS = "stored_value_bonus"
    POINTS = "points"
    # the merchant's side
    CASH = "cash"
    """Money received for top-ups and paid back on refunds."""
    BONUS_FUNDING = "bonus_funding"
    """Where bonus value comes from (a marketing cost)."""
    SALES = "sales"
    """Stored value spent on orders."""
    FORFEITED = "forfeited"
    """Bonus forfeited when its principal is refunded."""
    POINTS_ISSUED = "points_issued"
    POINTS_REDEEMED = "points_redeemed"
    POINTS_EXPIRED = "points_expired"
    CORRECTIONS = "corrections"


CUSTOMER_ACCOUNT_KINDS = frozenset(
    {AccountKind.STORED_VALUE_PRINCIPAL, AccountKind.STORED_VALUE_BONUS, AccountKind.POINTS}
)


class LedgerUnit(StrEnum):
    FEN = "fen"
    POINT = "point"


class LedgerAccount(Base):
    """An account of the ledger. A customer's account keeps ``balance``, a running total
    changed by the one conditional statement that posts each entry (so it never goes
    negative); the sum of the account's entries is the truth and the reconciliation checks
    one against the other. Merchant accounts keep no running total (``None``: one row every
    transaction touched would serialise them all); their balance is the sum of entries."""

    __tablename__ = "ledger_account"
    __table_args__ = (
        CheckConstraint("customer_id IS NULL OR balance >= 0",
                        name="customer_balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64), unique=True)
    """``customer:<id at opening>:<kind>`` or ``merchant:<kind>``."""
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(8))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    balance: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TransactionKind(StrEnum):
    TOP_UP = "top_up"
    CHARGE = "charge"
    CHARGE_REFUND = "charge_refund"
    """An order's charge given back to the balance."""
    CASH_REFUND = "cash_refund"
    """Principal paid back to the customer (bonus forfeited unless refundable)."""
    POINTS_EARN = "points_earn"
    POINTS_REDEEM = "points_redeem"
    POINTS_EXPIRE = "points_expire"
    CONSOLIDATION = "consolidation"
    """Balances of accounts a merge brought together moved into one."""
    CORRECTION = "correction"


class LedgerTransaction(Base):
    """One business event; its entries sum to zero per unit."""

    __tablename__ = "ledger_transaction"
    __table_args__ = (Index("ix_ledger_transaction_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("customer_order.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("top_up_plan.id"))
    reference: Mapped[str] = mapped_column(String(128), default="")
    """The merchant's external order number, a correction's reason…"""
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    memo: Mapped[str] = mapped_column(Text, default="")


class LedgerEntry(Base):
    """One leg: a signed amount on one account (> 0 credits it). Never updated."""

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transaction.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    amount: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopUpPlan(Base):
    """充值方案: pay at least ``pay_fen``, get ``bonus_fen`` on top."""

    __tablename__ = "top_up_plan"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    pay_fen: Mapped[int] = mapped_column()
    bonus_fen: Mapped[int] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsLot(Base):
    """Points earned together, spent and expired first-in-first-out. ``remaining`` is the
    allocation of the ledger's points balance to lots; the ledger stays the truth."""

    __tablename__ = "points_lot"
    __table_args__ = (
        Index("ix_points_lot_customer_expires", "customer_id", "expires_at"),
        CheckConstraint("remaining >= 0 AND remaining <= earned", name="remaining_within_earned"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transaction.id"), index=True)
    earned: Mapped[int] = mapped_column()
    remaining: Mapped[int] = mapped_column()
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- membership ----------------------------------------------------------------------------


class TierBasis(StrEnum):
    SPEND = "spend"
    POINTS = "points"


class MembershipTier(Base):
    """普通/银卡/金卡/黑金…: reached by trailing-12-month spend or points earned."""

    __tablename__ = "membership_tier"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(unique=True)
    min_spend_fen: Mapped[int] = mapped_column(default=0)
    min_points: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TierChange(Base):
    """A member's tier history (append-only); the newest row is the current tier."""

    __tablename__ = "tier_change"
    __table_args__ = (Index("ix_tier_change_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_tier_id: Mapped[int | None] = mapped_column(ForeignKey("membership_tier.id"))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("membership_tier.id"), index=True)
    is_super_user: Mapped[bool] = mapped_column(default=False)
    spend_fen: Mapped[int] = mapped_column(default=0)
    """Trailing-12-month spend when regraded."""
    points: Mapped[int] = mapped_column(default=0)
    """Trailing-12-month points earned when regraded."""
    reason: Mapped[str] = mapped_column(String(32), default="regrade")


# --- idempotency ---------------------------------------------------------------------------


class IdempotencyRecord(Base):
    """The first outcome of a write, returned again to a replay of its key."""

    __tablename__ = "offers_idempotency"
    __table_args__ = (UniqueConstraint("operation", "key"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(default=0)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
