"""Campaigns: saved segments (人群), the content library (话术/文案), campaigns with their
schedule and rules, the runs a schedule produced, and every delivery of every run.

A delivery is one recipient (a customer for 1:1 messages, a group for group messages) of one
run: ``planned`` → ``claimed`` → ``sending`` → ``sent`` | ``failed``; or ``suppressed`` (with
the rule) or ``holdout`` from the start. Customer and group references are real foreign keys,
so a OneID merge re-points them (no unique constraint includes ``customer_id``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import LOGICAL_REFERENCE, Base, BigIntegerId, UTCDateTime


class ContentCategory(StrEnum):
    WELCOME = "welcome"
    VALUE_CONTENT = "value_content"
    PARTNER_OFFER = "partner_offer"
    PROMOTION = "promotion"
    FOLLOW_UP = "follow_up"


class ContentStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    """Only approved content can be scheduled; editing it makes it a draft again."""
    ARCHIVED = "archived"


class CampaignChannel(StrEnum):
    WECOM_SINGLE = "wecom_single"
    """A 1:1 message to each customer from the staff member they added (mass-send, single)."""
    WECOM_GROUP = "wecom_group"
    """A message to each group (mass-send, group)."""


class AudienceKind(StrEnum):
    SEGMENT = "segment"
    GROUPS = "groups"


class ScheduleKind(StrEnum):
    ONCE = "once"
    RECURRING = "recurring"
    """Every week on ``weekday`` at ``time_of_day`` (Asia/Shanghai)."""
    TRIGGERED = "triggered"


class TriggerKind(StrEnum):
    AFTER_FIRST_ORDER = "after_first_order"
    """``trigger_days`` after the first order, at the time of day of that order."""
    BIRTHDAY = "birthday"
    NO_VISIT = "no_visit"
    """``trigger_days`` after the last order with no order since."""


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class QuietHoursPolicy(StrEnum):
    DEFER = "defer"
    """A send time inside 22:00–08:00 moves to the next 08:00 (Asia/Shanghai)."""
    SUPPRESS = "suppress"
    """A send time inside quiet hours is suppressed (reason ``quiet_hours``)."""


class DeliveryStatus(StrEnum):
    PLANNED = "planned"
    CLAIMED = "claimed"
    """Claimed by a sender under a lease; not called yet (a dead sender's claim is released)."""
    SENDING = "sending"
    """The call is being made; a dead sender leaves it so and it is never sent again."""
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    HOLDOUT = "holdout"


class SuppressionReason(StrEnum):
    OPTED_OUT = "opted_out"
    NO_CONSENT = "no_consent"
    RISK = "risk"
    UNREACHABLE = "unreachable"
    CUSTOMER_CAP = "customer_cap"
    GROUP_CAP = "group_cap"
    QUIET_HOURS = "quiet_hours"


ACTIVE_DELIVERY_STATUSES = (DeliveryStatus.PLANNED.value, DeliveryStatus.CLAIMED.value,
                            DeliveryStatus.SENDING.value, DeliveryStatus.SENT.value)
"""Deliveries that count against a frequency cap: sent, or on their way."""
ACTIVE_STATUSES_SQL = "status IN ({})".format(
    ", ".join(f"'{status}'" for status in ACTIVE_DELIVERY_STATUSES))
"""The predicate of the (status, not_before) index on PostgreSQL: only deliveries on their
way or sent are ever looked up by status and time (due sends, expired leases, the weekly
cap), so the suppressed, held-out and failed majority of a run is never indexed there."""


class Segment(Base):
    """A saved segment: a rule tree (``segment_rules``) evaluated live."""

    __tablename__ = "campaign_segment"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_count: Mapped[int | None] = mapped_column()
    last_counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Content(Base):
    """A template of the content library with ``{variables}`` and attachments by reference."""

    __tablename__ = "campaign_content"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32), index=True)
    body: Mapped[str] = mapped_column(Text)
    variables: Mapped[list[str]] = mapped_column(JSON, default=list)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=ContentStatus.DRAFT.value)
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Campaign(Base):
    """Who (audience), how (channel, content, coupon), when (schedule) and the rules."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("promoted_task_id IS NULL OR promoted_deal_id IS NULL",
                        name="promotes_one_programme"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT.value)
    channel: Mapped[str] = mapped_column(String(16))
    audience_kind: Mapped[str] = mapped_column(String(16))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_segment.id"))
    group_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    content_id: Mapped[int] = mapped_column(ForeignKey("campaign_content.id"))
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    schedule_kind: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """A ``once`` campaign's send time."""
    weekday: Mapped[int | None] = mapped_column()
    """A recurring campaign's ISO weekday (1 Monday … 7 Sunday)."""
    time_of_day: Mapped[str] = mapped_column(String(5), default="12:00")
    """HH:MM in Asia/Shanghai (recurring, birthday)."""
    trigger_kind: Mapped[str | None] = mapped_column(String(24))
    trigger_days: Mapped[int] = mapped_column(default=0)
    holdout_basis_points: Mapped[int] = mapped_column(default=1000)
    """The holdout share in basis points (1000 = 10%)."""
    customer_cap_per_week: Mapped[int] = mapped_column(default=2)
    group_cap_per_week: Mapped[int] = mapped_column(default=2)
    quiet_hours_policy: Mapped[str] = mapped_column(String(16),
                                                    default=QuietHoursPolicy.DEFER.value)
    max_risk_level: Mapped[str] = mapped_column(String(16), default="medium")
    """Customers whose risk level is above this are suppressed (``low`` < ``medium`` < ``high``)."""
    attribution_days: Mapped[int] = mapped_column(default=7)
    staff_seconds_per_delivery: Mapped[int] = mapped_column(default=0)
    staff_cost_fen_per_hour: Mapped[int] = mapped_column(default=0)
    sender_userid: Mapped[str] = mapped_column(String(64), default="")
    """The WeCom user who sends when a recipient has no staff member of their own."""
    promoted_task_id: Mapped[int | None] = mapped_column(ForeignKey("fission_task.id"),
                                                         index=True)
    """The fission task (任务宝) this campaign promotes; its holdout is the task's
    (``campaigns.programme_results``). At most one of this and ``promoted_deal_id``."""
    promoted_deal_id: Mapped[int | None] = mapped_column(ForeignKey("group_buy_deal.id"),
                                                         index=True)
    """The group-buy deal (拼团) this campaign promotes."""
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignRun(Base):
    """One occurrence of a campaign's schedule, planned once (the key makes planning
    idempotent)."""

    __tablename__ = "campaign_run"
    __table_args__ = (UniqueConstraint("campaign_id", "occurrence"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    occurrence: Mapped[str] = mapped_column(String(40))
    """``once``, the local send time of a recurring run, or the local day of a triggered one."""
    planned_for: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Deliveries by status and suppression reason, as planned."""


class Delivery(Base):
    """One recipient of one run, with what happened to it."""

    __tablename__ = "campaign_delivery"
    # Three indexes, each maintained for every one of a run's (up to millions of) rows, so
    # each earns its place: the sender's due deliveries and the weekly cap's count (status,
    # not_before; on PostgreSQL only the active rows, a run's smaller part); a campaign's and
    # a run's deliveries (results, summaries); a customer's
    # deliveries (a OneID merge re-points them; a triggered campaign's once-per-customer).
    __table_args__ = (
        Index("ix_campaign_delivery_status_not_before", "status", "not_before",
              postgresql_where=text(ACTIVE_STATUSES_SQL)),
        Index("ix_campaign_delivery_campaign_run", "campaign_id", "run_id"),
        Index("ix_campaign_delivery_customer_campaign", "customer_id", "campaign_id"),
    )

    # No foreign keys, as on the event log (docs/adr/0007): PostgreSQL would run one
    # referential check per row and key (a million-recipient run: 4 million checks, each
    # key-share-locking a customer row: 18 of the 26 CPU seconds of planning, measured). The
    # references hold by construction: planning selects live customers and open groups and
    # inserts under the run it created in the same transaction; customers, groups, campaigns
    # and runs are never deleted; merges follow ``customer_id`` by its logical reference.
    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigIntegerId,
                                             info={LOGICAL_REFERENCE: "campaign.id"})
    run_id: Mapped[int] = mapped_column(BigIntegerId, info={LOGICAL_REFERENCE: "campaign_run.id"})
    customer_id: Mapped[int | None] = mapped_column(BigIntegerId,
                                                    info={LOGICAL_REFERENCE: "customer.id"})
    group_id: Mapped[int | None] = mapped_column(BigIntegerId,
                                                 info={LOGICAL_REFERENCE: "customer_group.id"})
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    """The suppression rule, or why it failed."""
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    message_ref: Mapped[str | None] = mapped_column(String(64))
    """WeCom's ``msgid`` of the task that carried it (one task carries many deliveries)."""
    sender_userid: Mapped[str | None] = mapped_column(String(64))
    """The WeCom user whose task carried it: who had to confirm it (``operator_load``)."""
    coupon_code: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def idempotency_key(self) -> str:
        """The key of this delivery's send (and of its coupon claim)."""
        return f"campaign-delivery:{self.id}"
