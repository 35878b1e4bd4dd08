"""Staff Moments (朋友圈): posting tasks for store staff, and one post per staff member.

A task is a standard copy (free text, or an approved template of the content library, frozen
at creation) with images and links by reference, the stores whose staff must post it (or all
stores) and a due time. Creating it assigns every active staff member (导购) of those stores:
one post row each, ``pending`` until the staff member (or their manager) marks it ``posted``;
a post still pending at the due time is ``expired`` (read as such at once, written by the
sweep).

The reach a task stands for (seed 004: 10,000 staff × 1,000 friends is a 10-million reach) is
the sum of the friend counts of the staff who posted; the potential reach sums every assigned
staff member's. ``friend_count`` is the staff member's friend count when the post was
assigned, replaced by the count at the moment it was marked posted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, UTCDateTime


class MomentPostStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    EXPIRED = "expired"
    """Not posted by the task's due time."""


class MomentTask(Base):
    __tablename__ = "moment_task"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    """The copy as it was when the task was created (``{store}``, ``{city}`` and ``{date}``
    are filled per staff member when shown)."""
    content_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_content.id"))
    """The library template the copy came from, if any."""
    content_version: Mapped[int | None] = mapped_column()
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Images and links by reference, in the content library's shape."""
    all_stores: Mapped[bool] = mapped_column(default=False)
    store_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    """The chosen stores (empty when ``all_stores``)."""
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MomentPost(Base):
    __tablename__ = "moment_post"
    __table_args__ = (
        UniqueConstraint("task_id", "staff_user_id"),
        Index("ix_moment_post_staff_status", "staff_user_id", "status"),
        Index("ix_moment_post_store_task", "store_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("moment_task.id"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    status: Mapped[str] = mapped_column(String(16), default=MomentPostStatus.PENDING.value)
    friend_count: Mapped[int] = mapped_column(default=0)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marked_by: Mapped[str | None] = mapped_column(String(100))
    """Who marked it posted: the staff member, or their manager for them."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
