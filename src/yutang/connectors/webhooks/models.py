"""Webhook sources (each with its own secret, encrypted at rest) and the deliveries accepted
from them; a delivery's signature is unique, which makes the table the replay guard."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, Encrypted, UTCDateTime


class DeliveryKind(StrEnum):
    EVENTS = "events"
    ORDERS = "orders"


class DeliveryOutcome(StrEnum):
    ACCEPTED = "accepted"
    """Every record went in (or was already there)."""
    PARTLY_REJECTED = "partly_rejected"
    """Some records were refused; the others went in."""


class WebhookSource(Base):
    """A system that pushes events and orders (a mini-program, an app, a POS)."""

    __tablename__ = "webhook_source"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    secret: Mapped[str] = mapped_column(Encrypted("webhook_source.secret"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """An authentic delivery and what became of its records."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("webhook_source.id"), index=True)
    signature_key: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the source and the signature: a replayed request cannot be stored twice."""
    kind: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The request's ``X-Yutang-Timestamp``."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    records: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
