"""Bargaining (砍价): a customer starts a bargain on a product, friends each cut the price.

The ``helps_needed`` cuts are drawn when the bargain starts (integer fen, each at least one,
summing exactly to ``list_price_fen - floor_price_fen``) and stored; the k-th help takes the
k-th cut. ``helps_done`` moves by one conditional UPDATE per help, so helps never pass
``helps_needed`` and the price never goes below the floor, under any concurrency.

Merges: as in group-buy, uniqueness of a helper uses ``helper_key`` (the customer id when they
helped), never ``customer_id``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.db import Base, BigIntegerId, UTCDateTime


class BargainStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    """Every help came in: the price is at the floor."""
    EXPIRED = "expired"
    """The time ran out first."""


class Bargain(Base):
    __tablename__ = "bargain"
    __table_args__ = (
        CheckConstraint("helps_done >= 0", name="helps_not_negative"),
        CheckConstraint("helps_done <= helps_needed", name="helps_within_needed"),
        CheckConstraint("cut_fen <= list_price_fen - floor_price_fen", name="cut_within_gap"),
        CheckConstraint("floor_price_fen >= 0", name="floor_not_negative"),
        Index("ix_bargain_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    """Who started it."""
    starter_key: Mapped[int] = mapped_column()
    """The starter's customer id when it started."""
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    product_sku: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    list_price_fen: Mapped[int] = mapped_column()
    floor_price_fen: Mapped[int] = mapped_column()
    helps_needed: Mapped[int] = mapped_column()
    helps_done: Mapped[int] = mapped_column(default=0)
    cut_fen: Mapped[int] = mapped_column(default=0)
    """The sum of the cuts taken so far."""
    cuts_fen: Mapped[list[int]] = mapped_column(JSON)
    """The pre-drawn cuts, in help order (never shown before they are taken)."""
    seed: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=BargainStatus.OPEN.value)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class BargainHelp(Base):
    """One friend's cut."""

    __tablename__ = "bargain_help"
    __table_args__ = (
        UniqueConstraint("bargain_id", "sequence"),
        UniqueConstraint("bargain_id", "helper_key"),
        CheckConstraint("cut_fen >= 1", name="cut_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    bargain_id: Mapped[int] = mapped_column(ForeignKey("bargain.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    helper_key: Mapped[int] = mapped_column()
    """The helper's customer id when they helped."""
    sequence: Mapped[int] = mapped_column()
    cut_fen: Mapped[int] = mapped_column()
    helped_at: Mapped[datetime] = mapped_column(UTCDateTime)
