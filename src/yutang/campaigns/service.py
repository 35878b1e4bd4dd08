"""Campaigns' use cases for other layers (API, console, CLI, demo): planning what is due,
the plan preview, delivery counts, the calendar of scheduled touches. Segments, content,
campaigns and results have their own modules (``segments``, ``content``, ``campaigns``,
``results``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.campaigns import planning, policy
from yutang.campaigns.campaigns import active_campaigns, get_campaign
from yutang.campaigns.models import (
    Campaign,
    CampaignRun,
    CampaignStatus,
    Delivery,
    ScheduleKind,
    TriggerKind,
)
from yutang.campaigns.schedule import Occurrence, local_at, occurrences
from yutang.campaigns.schemas import (
    CalendarDay,
    CalendarEntry,
    DeliveryCounts,
    PlanSummary,
    RuleField,
)
from yutang.campaigns.segment_rules import (
    CONSENT_CHANNELS,
    LIFECYCLE_STAGES,
    RISK_LEVELS,
    VALUE_TIERS,
)
from yutang.kit.clock import local_day_start_utc, to_local, utcnow
from yutang.pool.models import Gender

CALENDAR_STATUSES = (CampaignStatus.DRAFT.value, CampaignStatus.ACTIVE.value,
                     CampaignStatus.PAUSED.value)
"""Campaigns the calendar shows (completed and cancelled ones touch nobody any more)."""


def plan_due(session: Session, *, now: datetime | None = None) -> list[PlanSummary]:
    """Plan every due occurrence of every active campaign not planned yet (idempotent)."""
    moment = now or utcnow()
    planned: list[PlanSummary] = []
    for campaign in active_campaigns(session):
        for occurrence in occurrences(campaign, now=moment):
            if planning.run_exists(session, campaign_id=campaign.id,
                                   occurrence=occurrence.key):
                continue
            summary = planning.plan_run(session, campaign=campaign, occurrence=occurrence,
                                        now=moment)
            if summary is not None:
                planned.append(summary)
    return planned


def next_occurrence(campaign: Campaign, *, now: datetime) -> Occurrence:
    """The occurrence a preview shows: the next due one, or one at ``now``."""
    due = occurrences(campaign, now=now)
    if due:
        return due[-1] if campaign.schedule_kind != ScheduleKind.ONCE.value else due[0]
    if campaign.schedule_kind == ScheduleKind.ONCE.value and campaign.send_at is not None:
        return Occurrence("once", campaign.send_at)
    if campaign.schedule_kind == ScheduleKind.TRIGGERED.value:
        day = to_local(now).date()
        return Occurrence(day.isoformat(), local_day_start_utc(day))
    return Occurrence("preview", now)


def preview_plan(session: Session, *, actor: Principal, campaign_id: int,
                 now: datetime | None = None) -> PlanSummary:
    """How many would receive the next run, and how many each rule would suppress."""
    access_service.require(actor, policy.READ)
    campaign = get_campaign(session, campaign_id=campaign_id)
    moment = now or utcnow()
    return planning.preview_plan(session, campaign=campaign,
                                 occurrence=next_occurrence(campaign, now=moment), now=moment)


def delivery_counts(session: Session, *, actor: Principal, campaign_id: int) -> DeliveryCounts:
    access_service.require(actor, policy.READ)
    get_campaign(session, campaign_id=campaign_id)
    rows = session.execute(select(Delivery.status, Delivery.reason, func.count())
                           .where(Delivery.campaign_id == campaign_id)
                           .group_by(Delivery.status, Delivery.reason)).all()
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for status, reason, count in rows:
        by_status[status] = by_status.get(status, 0) + int(count)
        if reason:
            by_reason[reason] = by_reason.get(reason, 0) + int(count)
    return DeliveryCounts(campaign_id=campaign_id, by_status=by_status, by_reason=by_reason)


def _touch_on(campaign: Campaign, day: date) -> tuple[bool, str | None, str]:
    """(does the campaign touch on this local day, its local HH:MM, its run's occurrence)."""
    start = local_day_start_utc(day)
    end = start + timedelta(days=1)
    if campaign.starts_at is not None and end <= campaign.starts_at:
        return False, None, ""
    if campaign.ends_at is not None and start > campaign.ends_at:
        return False, None, ""
    kind = ScheduleKind(campaign.schedule_kind)
    if kind is ScheduleKind.ONCE:
        at = campaign.send_at
        if at is None or to_local(at).date() != day:
            return False, None, ""
        return True, to_local(at).strftime("%H:%M"), "once"
    if kind is ScheduleKind.RECURRING:
        if day.isoweekday() != campaign.weekday:
            return False, None, ""
        at = local_at(day, campaign.time_of_day)
        return True, campaign.time_of_day, to_local(at).strftime("%Y-%m-%dT%H:%M")
    birthday = campaign.trigger_kind == TriggerKind.BIRTHDAY.value
    return True, campaign.time_of_day if birthday else None, day.isoformat()


def calendar(session: Session, *, actor: Principal, first_day: date,
             days: int = 28) -> list[CalendarDay]:
    """Every scheduled touch of the draft, active and paused campaigns per local day from
    ``first_day`` on, with the counts of the runs already planned. Triggered campaigns touch
    every day (each customer at their own moment)."""
    access_service.require(actor, policy.READ)
    campaigns = session.scalars(select(Campaign).where(
        Campaign.status.in_(CALENDAR_STATUSES)).order_by(Campaign.id)).all()
    start = local_day_start_utc(first_day)
    runs = {(run.campaign_id, run.occurrence): run.counts for run in session.scalars(
        select(CampaignRun).where(
            CampaignRun.planned_for >= start - timedelta(days=1),
            CampaignRun.planned_for < start + timedelta(days=days + 1)))}
    found: list[CalendarDay] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        entries: list[CalendarEntry] = []
        for campaign in campaigns:
            touches, at, occurrence = _touch_on(campaign, day)
            if not touches:
                continue
            entries.append(CalendarEntry(
                campaign_id=campaign.id, name=campaign.name, status=campaign.status,
                channel=campaign.channel, schedule_kind=campaign.schedule_kind,
                trigger_kind=campaign.trigger_kind, at=at,
                planned=runs.get((campaign.id, occurrence))))
        entries.sort(key=lambda entry: (entry.at or "", entry.campaign_id))
        found.append(CalendarDay(day=day, entries=entries))
    return found


_NUMERIC = ["eq", "gte", "lte", "between"]
RULE_FIELDS: tuple[RuleField, ...] = (
    RuleField(field="gender", ops=["eq", "in"], kind="choice",
              choices=[gender.value for gender in Gender]),
    RuleField(field="store", ops=["eq", "in"], kind="store"),
    RuleField(field="acquisition_channel", ops=["eq", "in"], kind="channel"),
    RuleField(field="acquired_at", ops=["before", "after", "between"], kind="date"),
    RuleField(field="tag", ops=["has", "has_any", "has_none"], kind="names"),
    RuleField(field="value_tier", ops=["eq", "in"], kind="choice", choices=list(VALUE_TIERS)),
    RuleField(field="rfm_recency", ops=_NUMERIC, kind="score"),
    RuleField(field="rfm_frequency", ops=_NUMERIC, kind="score"),
    RuleField(field="rfm_monetary", ops=_NUMERIC, kind="score"),
    RuleField(field="lifecycle_stage", ops=["eq", "in"], kind="choice",
              choices=list(LIFECYCLE_STAGES)),
    RuleField(field="clv_fen", ops=["gte", "lte", "between"], kind="yuan"),
    RuleField(field="order_count", ops=_NUMERIC, kind="number"),
    RuleField(field="last_order", ops=["within_days", "not_within_days", "never"],
              kind="number"),
    RuleField(field="group", ops=["member_of", "member_of_any", "in_no_group"], kind="group"),
    RuleField(field="consent", ops=["granted", "not_granted"], kind="choice",
              choices=list(CONSENT_CHANNELS)),
    RuleField(field="risk_level", ops=["eq", "in", "at_most"], kind="choice",
              choices=list(RISK_LEVELS)),
)
"""What a segment builder offers: every field of ``segment_rules`` (``rfm_tier`` is the same
as ``value_tier``), its operators and the kind of value it takes. Operators ``in``,
``has*`` and ``member_of_any`` take a list, ``between`` a pair, ``never`` and
``in_no_group`` the value true, the others one value."""
