"""Follow-ups (回访): rules that create tasks for store staff, and the tasks.

A rule names a moment worth a call or a 1:1 message (after a first order, before points
expire, a high-value customer at risk, a group-buy bait buyer not yet upgraded), the script
from the content library, and how many days the staff member has. A task is one customer to
follow up: assigned to a staff member of the customer's store, due at a time, then done (with
an outcome, a note and perhaps the next contact date, which opens the next task) or skipped.

A task is unique per (rule, occurrence): the occurrence names what it is about (the customer
for a first order, the expiring points lot, the bait order, the period of an at-risk check),
so a sweep that runs twice creates each task once. The customer reference is a real foreign
key (a OneID merge re-points it), so no unique constraint includes it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, UTCDateTime


class FollowUpKind(StrEnum):
    FIRST_ORDER = "first_order"
    """``days`` after a customer's first paid order."""
    POINTS_EXPIRING = "points_expiring"
    """Points of the customer expire within ``days`` days."""
    HIGH_VALUE_AT_RISK = "high_value_at_risk"
    """A VIP or high-value customer whose lifecycle stage is at risk; at most once per
    ``days`` days."""
    BAIT_NOT_UPGRADED = "bait_not_upgraded"
    """A group-buy (bait) buyer with no other paid order ``days`` days after the bait."""


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class TaskOutcome(StrEnum):
    REACHED = "reached"
    PURCHASED = "purchased"
    NO_ANSWER = "no_answer"
    NOT_INTERESTED = "not_interested"
    WRONG_CONTACT = "wrong_contact"


class FollowUpRule(Base):
    __tablename__ = "follow_up_rule"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    content_id: Mapped[int] = mapped_column(ForeignKey("campaign_content.id"))
    """The script (话术) staff use."""
    days: Mapped[int] = mapped_column()
    due_days: Mapped[int] = mapped_column(default=2)
    """A task is due this many days after it is created."""
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowUpTask(Base):
    __tablename__ = "follow_up_task"
    __table_args__ = (
        UniqueConstraint("rule_id", "occurrence"),
        Index("ix_follow_up_task_assignee_status_due", "assignee_id", "status", "due_at"),
        Index("ix_follow_up_task_store_status_due", "store_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("follow_up_rule.id"))
    occurrence: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    previous_task_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up_task.id"))
    """The task whose next contact date opened this one."""
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN.value)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    next_contact_on: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
