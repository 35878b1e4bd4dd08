"""Campaigns' public shapes (API and console)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from yutang.campaigns.models import (
    AudienceKind,
    CampaignChannel,
    ContentCategory,
    QuietHoursPolicy,
    ScheduleKind,
    TriggerKind,
)


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    rule: Any
    """A rule tree (``segment_rules``); checked by the domain, which names the bad node."""


class SegmentRead(BaseModel):
    id: int
    name: str
    description: str
    rule: dict[str, Any]
    count: int | None
    counted_at: datetime | None


class PreviewCustomer(BaseModel):
    id: int | None
    pseudonym: str
    name: str | None = None
    phone: str | None = None
    store_code: str | None = None
    value_tier: str | None = None
    lifecycle_stage: str | None = None


class SegmentPreview(BaseModel):
    count: int
    customers: list[PreviewCustomer]
    personal_data: str
    """``masked`` or ``pseudonymous`` (analysts)."""


class Attachment(BaseModel):
    kind: str = Field(pattern="^(image|link|miniprogram)$")
    url: str = Field(default="", max_length=1000)
    """The image's media URL, or the link."""
    title: str = Field(default="", max_length=200)
    appid: str = Field(default="", max_length=64)
    """A mini-program card's appid."""
    page: str = Field(default="", max_length=500)
    """A mini-program card's page path."""


class ContentIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    category: ContentCategory
    body: str = Field(min_length=1, max_length=4000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=9)


class ContentRead(BaseModel):
    id: int
    name: str
    category: str
    body: str
    variables: list[str]
    attachments: list[dict[str, Any]]
    status: str
    version: int
    approved_by: str | None
    approved_at: datetime | None
    updated_at: datetime


class ContentPreview(BaseModel):
    text: str
    attachments: list[dict[str, Any]]
    personal_data: str


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    channel: CampaignChannel
    audience_kind: AudienceKind
    segment_id: int | None = None
    group_ids: list[int] = Field(default_factory=list, max_length=2000)
    content_id: int
    coupon_template_id: int | None = None
    schedule_kind: ScheduleKind
    send_at: datetime | None = None
    weekday: int | None = Field(default=None, ge=1, le=7)
    time_of_day: str = Field(default="12:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    trigger_kind: TriggerKind | None = None
    trigger_days: int = Field(default=0, ge=0, le=3650)
    holdout_share: float = Field(default=0.10, ge=0.0, le=0.9)
    customer_cap_per_week: int = Field(default=2, ge=1, le=50)
    group_cap_per_week: int = Field(default=2, ge=1, le=50)
    quiet_hours_policy: QuietHoursPolicy = QuietHoursPolicy.DEFER
    max_risk_level: str = Field(default="medium", pattern="^(low|medium|high)$")
    attribution_days: int = Field(default=7, ge=1, le=90)
    staff_seconds_per_delivery: int = Field(default=0, ge=0, le=3600)
    staff_cost_fen_per_hour: int = Field(default=0, ge=0, le=10_000_000)
    sender_userid: str = Field(default="", max_length=64)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    promoted_task_id: int | None = Field(default=None, gt=0)
    """The fission task this campaign promotes (its results: the task's, against this
    campaign's holdout); at most one of this and ``promoted_deal_id``."""
    promoted_deal_id: int | None = Field(default=None, gt=0)
    """The group-buy deal this campaign promotes."""


class CampaignRead(BaseModel):
    id: int
    name: str
    status: str
    channel: str
    audience_kind: str
    segment_id: int | None
    group_ids: list[int]
    content_id: int
    coupon_template_id: int | None
    schedule_kind: str
    send_at: datetime | None
    weekday: int | None
    time_of_day: str
    trigger_kind: str | None
    trigger_days: int
    holdout_share: float
    customer_cap_per_week: int
    group_cap_per_week: int
    quiet_hours_policy: str
    max_risk_level: str
    attribution_days: int
    promoted_task_id: int | None = None
    promoted_deal_id: int | None = None


class PlanSummary(BaseModel):
    """How a run was (or would be) planned: counts by status and by suppression rule."""

    run_id: int | None
    occurrence: str
    planned_for: datetime
    audience: int
    planned: int
    holdout: int
    suppressed: int
    suppressed_by: dict[str, int]


class DeliveryCounts(BaseModel):
    campaign_id: int
    by_status: dict[str, int]
    by_reason: dict[str, int]


class ArmsRead(BaseModel):
    """The treated and holdout arms in their attribution windows (``results``)."""

    treated: int
    treated_conversions: int
    holdout: int
    holdout_conversions: int
    treated_rate: float
    holdout_rate: float
    treated_gmv_fen: int
    holdout_gmv_fen: int
    daily: list[dict[str, Any]]
    """Units and conversions per local day of their anchor."""


class UpliftRead(ArmsRead):
    uplift: float
    """Difference of conversion rates (treated − holdout)."""
    uplift_low: float
    uplift_high: float
    """The 95% interval (Newcombe's hybrid Wilson score interval)."""
    incremental_gmv_fen: int
    """Treated GMV minus the holdout's GMV per customer scaled to the treated count."""
    coupon_cost_fen: int
    staff_cost_fen: int
    cost_fen: int
    roi: float | None
    """(incremental GMV − cost) / cost; None without cost."""
    attribution_days: int


class CalendarEntry(BaseModel):
    """One scheduled touch of a campaign on a local day."""

    campaign_id: int
    name: str
    status: str
    channel: str
    schedule_kind: str
    trigger_kind: str | None
    at: str | None
    """Local HH:MM of a once/recurring/birthday send; None for a per-customer trigger."""
    planned: dict[str, Any] | None
    """The run's counts when it has been planned (planned, holdout, suppressed, …)."""


class CalendarDay(BaseModel):
    day: date
    entries: list[CalendarEntry]


class RuleField(BaseModel):
    """A field a segment builder offers: its operators and the kind of value it takes
    (``choice`` among ``choices``; ``store``, ``channel``, ``group`` ids; ``date``; ``names``;
    ``score`` 1–5; ``number``; ``yuan`` shown in yuan, stored in fen)."""

    field: str
    ops: list[str]
    kind: str
    choices: list[str] = Field(default_factory=list)
