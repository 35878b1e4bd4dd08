"""Campaign use cases: create and check a campaign, activate, pause, list."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.campaigns import content as content_service
from yutang.campaigns import policy, promotions
from yutang.campaigns.errors import CampaignNotFound, InvalidCampaign
from yutang.campaigns.models import (
    AudienceKind,
    Campaign,
    CampaignChannel,
    CampaignStatus,
    ScheduleKind,
)
from yutang.campaigns.schemas import CampaignIn, CampaignRead
from yutang.campaigns.segments import get_segment
from yutang.groups.models import Group
from yutang.kit.clock import utcnow
from yutang.offers import service as offers_service


def present(campaign: Campaign) -> CampaignRead:
    return CampaignRead(
        id=campaign.id, name=campaign.name, status=campaign.status, channel=campaign.channel,
        audience_kind=campaign.audience_kind, segment_id=campaign.segment_id,
        group_ids=list(campaign.group_ids), content_id=campaign.content_id,
        coupon_template_id=campaign.coupon_template_id,
        schedule_kind=campaign.schedule_kind, send_at=campaign.send_at,
        weekday=campaign.weekday, time_of_day=campaign.time_of_day,
        trigger_kind=campaign.trigger_kind, trigger_days=campaign.trigger_days,
        holdout_share=campaign.holdout_basis_points / 10_000,
        customer_cap_per_week=campaign.customer_cap_per_week,
        group_cap_per_week=campaign.group_cap_per_week,
        quiet_hours_policy=campaign.quiet_hours_policy,
        max_risk_level=campaign.max_risk_level, attribution_days=campaign.attribution_days,
        promoted_task_id=campaign.promoted_task_id, promoted_deal_id=campaign.promoted_deal_id)


def _check(session: Session, data: CampaignIn) -> None:
    if data.audience_kind is AudienceKind.SEGMENT:
        if data.segment_id is None:
            raise InvalidCampaign("a segment audience needs segment_id", field="segment_id")
        get_segment(session, segment_id=data.segment_id)
    else:
        if not data.group_ids:
            raise InvalidCampaign("a groups audience needs group_ids", field="group_ids")
        known = set(session.scalars(select(Group.id).where(Group.id.in_(data.group_ids))))
        missing = sorted(set(data.group_ids) - known)
        if missing:
            raise InvalidCampaign(f"unknown groups {missing}", field="group_ids",
                                  missing=missing)
    if data.channel is CampaignChannel.WECOM_GROUP:
        if data.audience_kind is not AudienceKind.GROUPS:
            raise InvalidCampaign("a group message goes to groups: choose groups as the "
                                  "audience", field="audience_kind")
        if data.coupon_template_id is not None:
            raise InvalidCampaign("a coupon rides along 1:1 messages only",
                                  field="coupon_template_id")
    if data.schedule_kind is ScheduleKind.ONCE and data.send_at is None:
        raise InvalidCampaign("a one-off campaign needs send_at", field="send_at")
    if data.schedule_kind is ScheduleKind.RECURRING and data.weekday is None:
        raise InvalidCampaign("a recurring campaign needs weekday", field="weekday")
    if data.schedule_kind is ScheduleKind.TRIGGERED:
        if data.trigger_kind is None:
            raise InvalidCampaign("a triggered campaign needs trigger_kind",
                                  field="trigger_kind")
        if data.channel is not CampaignChannel.WECOM_SINGLE:
            raise InvalidCampaign("triggers are per customer: 1:1 messages only",
                                  field="channel")
    if data.coupon_template_id is not None:
        offers_service.get_template(session, template_id=data.coupon_template_id)
    content_service.get_content(session, content_id=data.content_id)
    promotions.check_promotion(session, task_id=data.promoted_task_id,
                               deal_id=data.promoted_deal_id)


def create_campaign(session: Session, *, actor: Principal, data: CampaignIn) -> Campaign:
    access_service.require(actor, policy.MANAGE)
    _check(session, data)
    campaign = Campaign(
        name=data.name.strip(), status=CampaignStatus.DRAFT.value, channel=data.channel.value,
        audience_kind=data.audience_kind.value, segment_id=data.segment_id,
        group_ids=sorted(set(data.group_ids)), content_id=data.content_id,
        coupon_template_id=data.coupon_template_id, schedule_kind=data.schedule_kind.value,
        send_at=data.send_at, weekday=data.weekday, time_of_day=data.time_of_day,
        trigger_kind=data.trigger_kind.value if data.trigger_kind else None,
        trigger_days=data.trigger_days,
        holdout_basis_points=round(data.holdout_share * 10_000),
        customer_cap_per_week=data.customer_cap_per_week,
        group_cap_per_week=data.group_cap_per_week,
        quiet_hours_policy=data.quiet_hours_policy.value, max_risk_level=data.max_risk_level,
        attribution_days=data.attribution_days,
        staff_seconds_per_delivery=data.staff_seconds_per_delivery,
        staff_cost_fen_per_hour=data.staff_cost_fen_per_hour,
        sender_userid=data.sender_userid.strip(), starts_at=data.starts_at,
        ends_at=data.ends_at, promoted_task_id=data.promoted_task_id,
        promoted_deal_id=data.promoted_deal_id, created_by=actor.name)
    session.add(campaign)
    session.flush()
    access_service.record_audit(session, actor=actor, action="campaign.create",
                                entity_type="campaign", entity_id=campaign.id)
    return campaign


def get_campaign(session: Session, *, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"no campaign {campaign_id}", campaign_id=campaign_id)
    return campaign


def read_campaign(session: Session, *, actor: Principal, campaign_id: int) -> Campaign:
    access_service.require(actor, policy.READ)
    return get_campaign(session, campaign_id=campaign_id)


def set_status(session: Session, *, actor: Principal, campaign_id: int,
               status: CampaignStatus) -> Campaign:
    """Activate (content must be approved), pause, complete or cancel a campaign."""
    access_service.require(actor, policy.MANAGE)
    campaign = get_campaign(session, campaign_id=campaign_id)
    if status is CampaignStatus.ACTIVE:
        content_service.require_approved(session, content_id=campaign.content_id)
    if campaign.status in (CampaignStatus.COMPLETED.value, CampaignStatus.CANCELLED.value):
        raise InvalidCampaign(f"campaign {campaign_id} is {campaign.status}")
    previous = campaign.status
    campaign.status = status.value
    campaign.updated_at = utcnow()
    session.flush()
    access_service.record_audit(session, actor=actor, action=f"campaign.{status.value}",
                                entity_type="campaign", entity_id=campaign.id,
                                details={"from": previous})
    return campaign


def list_campaigns(session: Session, *, actor: Principal) -> Sequence[Campaign]:
    access_service.require(actor, policy.READ)
    return session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()


def active_campaigns(session: Session) -> Sequence[Campaign]:
    return session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.ACTIVE.value).order_by(Campaign.id)).all()
