"""Fission: referral codes and the referral edges they create, fission tasks (任务宝) with
their participants and rewards, partners (友商) with their offers and cross-referrals, and
the durable cursor of the first-order reaction.

Attribution is single-level: a customer has at most one referrer, the owner of the code
they first came through (``referral_edge.referee_key`` is unique). Rewards go to the direct
referrer only; there are no multi-level commissions.

Merges: every customer-owned row has a real foreign key to ``customer.id`` so a OneID merge
re-points it. No unique constraint includes a ``customer_id``; uniqueness per customer uses a
key fixed when the row was made (the customer id at that time), as offers does. After a merge
a customer may hold two edges as referee: readers take the earliest.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, UTCDateTime


class OwnerKind(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    KOC = "koc"
    """A key opinion consumer: a customer the merchant asks to spread (a customer id)."""
    PARTNER = "partner"
    """A partner merchant (友商) sending its customers to us."""


CUSTOMER_OWNER_KINDS = frozenset({OwnerKind.CUSTOMER, OwnerKind.KOC})


class EdgeStatus(StrEnum):
    """Forward only: clicked → joined → first_order → rewarded; rejected from any but
    rewarded. Each step keeps its time (a later step does not erase an earlier one)."""

    CLICKED = "clicked"
    JOINED = "joined"
    """Joined a group or added staff (加好友/进群)."""
    FIRST_ORDER = "first_order"
    REWARDED = "rewarded"
    REJECTED = "rejected"


class RewardKind(StrEnum):
    COUPON = "coupon"
    """A coupon of ``coupon_template_id``, claimed through offers."""
    POINTS = "points"
    """``reward_points`` points, earned through offers."""
    PURCHASE_RIGHT = "purchase_right"
    """The right to buy a private-domain-only or limited product (``product_sku``)."""
    COMMISSION = "commission"
    """Points for the direct referrer of a first order (only when commissions are on)."""


class RewardStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"


class TaskStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class ReferralCode(Base):
    """A code (and link) that attributes whoever arrives through it to its owner."""

    __tablename__ = "referral_code"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    owner_kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("fission_task.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralEdge(Base):
    """One customer brought by one referrer (single-level attribution)."""

    __tablename__ = "referral_edge"
    __table_args__ = (
        Index("ix_referral_edge_referrer_status", "referrer_customer_id", "status"),
        Index("ix_referral_edge_task_referrer", "task_id", "referrer_customer_id"),
        Index("ix_referral_edge_referee_status", "referee_customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("referral_code.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("fission_task.id"))
    referrer_kind: Mapped[str] = mapped_column(String(16))
    referrer_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    referrer_staff_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"),
                                                          index=True)
    referrer_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"),
                                                            index=True)
    referee_customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    referee_key: Mapped[int] = mapped_column(unique=True)
    """The referee's customer id when the edge was made: one referrer per customer."""
    status: Mapped[str] = mapped_column(String(16), default=EdgeStatus.CLICKED.value)
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_order_id: Mapped[int | None] = mapped_column(ForeignKey("customer_order.id"))
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str] = mapped_column(String(200), default="")
    counted_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("fission_task_participant.id"), index=True)
    """The task participant whose progress this join counted for (a rejection takes it back
    while the task is not completed)."""


class FissionTask(Base):
    """任务宝: invite ``invite_target`` friends who join within ``window_days`` days of
    starting the task → a reward (coupon, points or the right to buy a product)."""

    __tablename__ = "fission_task"
    __table_args__ = (
        CheckConstraint("invite_target >= 1", name="invite_target_positive"),
        CheckConstraint("window_days >= 1", name="window_days_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.ACTIVE.value)
    invite_target: Mapped[int] = mapped_column()
    window_days: Mapped[int] = mapped_column()
    reward_kind: Mapped[str] = mapped_column(String(16))
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    reward_points: Mapped[int | None] = mapped_column()
    product_sku: Mapped[str | None] = mapped_column(String(64))
    commission_points: Mapped[int] = mapped_column(default=0)
    """Points to the direct referrer per referee's first order; 0 unless commissions are on."""
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskParticipant(Base):
    """A customer doing a task: friends who join through their code before ``deadline``
    count (``qualified``, one conditional UPDATE per join); ``completed_at`` is set once."""

    __tablename__ = "fission_task_participant"
    __table_args__ = (
        UniqueConstraint("task_id", "participant_key"),
        Index("ix_fission_task_participant_customer_task", "customer_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("fission_task.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    participant_key: Mapped[int] = mapped_column()
    """The customer id when the task was started."""
    code_id: Mapped[int] = mapped_column(ForeignKey("referral_code.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    qualified: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FissionReward(Base):
    """A reward owed, recorded as pending before it is granted (through offers, or as a
    purchase right), and granted exactly once: ``reward_key`` is unique and the grant moves
    it from pending in one conditional UPDATE."""

    __tablename__ = "fission_reward"
    __table_args__ = (Index("ix_fission_reward_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    reward_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=RewardStatus.PENDING.value)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("fission_task.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("fission_task_participant.id"))
    edge_id: Mapped[int | None] = mapped_column(ForeignKey("referral_edge.id"))
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    points: Mapped[int | None] = mapped_column()
    product_sku: Mapped[str | None] = mapped_column(String(64))
    coupon_code: Mapped[str | None] = mapped_column(String(24))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Partner(Base):
    """友商: a partner merchant that offers its goods to our customers and shares traffic."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(64), default="")
    outbound_code: Mapped[str] = mapped_column(String(64), default="")
    """The partner's referral code for us: our customers sent to them carry it."""
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerOffer(Base):
    """A partner's offer to our customers (shown in our groups 2–3 times a month)."""

    __tablename__ = "partner_offer"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    price_fen: Mapped[int | None] = mapped_column()
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerReferral(Base):
    """One of our customers sent to a partner (counted once per partner and customer)."""

    __tablename__ = "partner_referral"
    __table_args__ = (UniqueConstraint("partner_id", "customer_key"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    customer_key: Mapped[int] = mapped_column()
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("partner_offer.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FissionCursor(Base):
    """How far a sweep has read another domain's rows (the durable half of a reaction)."""

    __tablename__ = "fission_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WatchedOrder(Base):
    """An order of an open referee not yet paid when the sweep read it: checked again until
    it is paid (the first order) or ends."""

    __tablename__ = "fission_watched_order"

    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), primary_key=True)
    watched_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
