"""Group-buy (拼团): deals, teams, their members and the refunds of failed teams.

A deal sells a product at a bait price (the 99-yuan group-buy) against its list price, in
teams of ``team_size`` that must fill within ``time_limit_minutes``. Seats and stock are
counters changed by one conditional UPDATE each (``filled < team_size``, ``sold < stock``),
so they never overflow under any concurrency; the check constraints hold the database to it.

Merges: member and team rows carry real foreign keys to ``customer.id`` so a OneID merge
re-points them. No unique constraint includes a ``customer_id``: uniqueness of a member in a
team uses ``member_key``, the customer id when the member joined.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, UTCDateTime

GROUP_BUY_ORDER_SOURCE = "group_buy"
"""The ``source`` of the pool orders a group-buy makes (one per member)."""


class DealStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    """No new teams; open teams may still fill until they expire."""


class TeamStatus(StrEnum):
    OPEN = "open"
    SUCCEEDED = "succeeded"
    """Filled: every seat taken before the time ran out."""
    FAILED = "failed"
    """The time ran out first: every member's bait order is refunded, exactly once."""


class TeamEventKind(StrEnum):
    OPENED = "opened"
    JOINED = "joined"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class GroupBuyDeal(Base):
    """A group-buy offer: a product at ``bait_price_fen`` instead of ``list_price_fen``."""

    __tablename__ = "group_buy_deal"
    __table_args__ = (
        CheckConstraint("sold >= 0", name="sold_not_negative"),
        CheckConstraint("sold <= stock", name="sold_within_stock"),
        CheckConstraint("team_size >= 2", name="team_of_two_or_more"),
        CheckConstraint("bait_price_fen <= list_price_fen", name="bait_not_above_list"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    product_sku: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    bait_price_fen: Mapped[int] = mapped_column()
    list_price_fen: Mapped[int] = mapped_column()
    full_order_threshold_fen: Mapped[int | None] = mapped_column()
    """A later order paying at least this much counts as a full-price order even without the
    deal's product (``None``: only the product at list price counts)."""
    team_size: Mapped[int] = mapped_column()
    time_limit_minutes: Mapped[int] = mapped_column()
    stock: Mapped[int] = mapped_column()
    """Units (seats) the deal may sell in all."""
    sold: Mapped[int] = mapped_column(default=0)
    """Seats held by open or succeeded teams; a failed team's seats come back."""
    status: Mapped[str] = mapped_column(String(16), default=DealStatus.ACTIVE.value)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    """A store's own deal, or ``None`` for the whole chain."""
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupBuyTeam(Base):
    """One team (团) of a deal, opened by its leader (团长)."""

    __tablename__ = "group_buy_team"
    __table_args__ = (
        CheckConstraint("filled >= 0", name="filled_not_negative"),
        CheckConstraint("filled <= team_size", name="filled_within_size"),
        Index("ix_group_buy_team_status_expires", "status", "expires_at"),
        Index("ix_group_buy_team_store_opened", "store_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("group_buy_deal.id"), index=True)
    leader_customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    """The leader's store when the team opened (the store answers for its leaders)."""
    team_size: Mapped[int] = mapped_column()
    filled: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=TeamStatus.OPEN.value)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupBuyMember(Base):
    """A seat of a team taken by a customer, with the bait order they paid."""

    __tablename__ = "group_buy_member"
    __table_args__ = (
        UniqueConstraint("team_id", "seat"),
        UniqueConstraint("team_id", "member_key"),
        CheckConstraint("seat >= 1", name="seat_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("group_buy_team.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    member_key: Mapped[int] = mapped_column()
    """The customer id when the member joined (see the module docstring)."""
    seat: Mapped[int] = mapped_column()
    """1 is the leader."""
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GroupBuyRefund(Base):
    """The refund of one member's bait order after their team failed: at most one per member
    (the unique constraint is what makes a second expiry run refund nothing)."""

    __tablename__ = "group_buy_refund"
    __table_args__ = (UniqueConstraint("member_id"), UniqueConstraint("order_id"))

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("group_buy_member.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("group_buy_team.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"))
    amount_fen: Mapped[int] = mapped_column()
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GroupBuyTeamEvent(Base):
    """The timeline of a team: opened, each join, success or failure, each refund."""

    __tablename__ = "group_buy_team_event"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("group_buy_team.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
