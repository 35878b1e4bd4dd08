from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, UTCDateTime

DEFAULT_GROUP_CAPACITY = 50


class Region(Base):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Store(Base):
    __tablename__ = "store"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(50))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    group_capacity: Mapped[int] = mapped_column(default=DEFAULT_GROUP_CAPACITY)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
