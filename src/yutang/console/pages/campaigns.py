"""Campaigns in the console: the list, the campaign builder, a campaign with its plan
preview (how many would receive the next run, how many each rule suppresses) and its
deliveries, the calendar of scheduled touches (four weeks, per day) and the results (treated
against holdout with the 95% uplift interval, incremental GMV, cost, ROI). Segments and the
content library and follow-ups have their own modules; every figure comes from the
campaigns service."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.campaigns import campaigns as campaign_service
from yutang.campaigns import content as content_service
from yutang.campaigns import promotions, results, service
from yutang.campaigns import segments as segment_service
from yutang.campaigns.models import (
    CampaignChannel,
    CampaignStatus,
    ContentStatus,
    QuietHoursPolicy,
    ScheduleKind,
    SuppressionReason,
    TriggerKind,
)
from yutang.campaigns.schemas import CampaignIn
from yutang.console.pages import (
    campaigns_content,
    campaigns_follow_ups,
    campaigns_operator_load,
    campaigns_segments,
)
from yutang.console.pages.campaigns_support import (
    decimal,
    group_options,
    invalid_form,
    local_input,
    local_moment,
    parse_day,
    whole,
)
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.clock import to_local, utcnow
from yutang.kit.errors import InvalidInput
from yutang.kit.money import parse_yuan
from yutang.kit.web import DbSession
from yutang.offers import service as offers_service

router = APIRouter()
router.include_router(campaigns_segments.router)
router.include_router(campaigns_content.router)
router.include_router(campaigns_follow_ups.router)
router.include_router(campaigns_operator_load.router)
pages = APIRouter(prefix="/campaigns")

CALENDAR_DAYS = 28
STATUS_ACTIONS = {
    CampaignStatus.DRAFT.value: (CampaignStatus.ACTIVE, CampaignStatus.CANCELLED),
    CampaignStatus.ACTIVE.value: (CampaignStatus.PAUSED, CampaignStatus.COMPLETED,
                                  CampaignStatus.CANCELLED),
    CampaignStatus.PAUSED.value: (CampaignStatus.ACTIVE, CampaignStatus.COMPLETED,
                                  CampaignStatus.CANCELLED),
}
"""The status changes a campaign page offers, by current status."""


@pages.get("")
def campaign_list(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    principal = active.principal
    return render(request, "campaigns_list.html", {
        "campaigns": [campaign_service.present(item)
                      for item in campaign_service.list_campaigns(session, actor=principal)],
    })


PROMOTABLE = {"task": "promoted_task_id", "deal": "promoted_deal_id"}
"""The builder's ``promotes`` choice (``task:<id>`` or ``deal:<id>``) → the campaign field."""


def _promotion(choice: str) -> dict[str, int | None]:
    """The campaign fields of the builder's ``promotes`` choice (empty: promotes nothing)."""
    fields: dict[str, int | None] = dict.fromkeys(PROMOTABLE.values())
    kind, _, number = choice.strip().partition(":")
    if kind:
        if kind not in PROMOTABLE:
            raise InvalidInput("unknown programme", fields=["promotes"])
        fields[PROMOTABLE[kind]] = whole(number, "promotes")
    return fields


def _builder_context(session: DbSession, active: ConsoleSession) -> dict[str, Any]:
    principal = active.principal
    tasks, deals = promotions.programme_choices(session)
    return {
        "promotable_tasks": tasks, "promotable_deals": deals,
        "segments": [segment_service.present(item)
                     for item in segment_service.list_segments(session, actor=principal)],
        "contents": [content_service.present(item)
                     for item in content_service.list_content(session, actor=principal)
                     if item.status != ContentStatus.ARCHIVED.value],
        "coupon_templates": [template for template in
                             offers_service.list_templates(session, actor=principal)
                             if template.status == "active"],
        "groups": group_options(session, principal),
        "channels": [item.value for item in CampaignChannel],
        "schedule_kinds": [item.value for item in ScheduleKind],
        "trigger_kinds": [item.value for item in TriggerKind],
        "quiet_policies": [item.value for item in QuietHoursPolicy],
        "risk_levels": ("low", "medium", "high"),
        "default_send_at": local_input(utcnow() + timedelta(days=1)),
    }


@pages.get("/new")
def campaign_new(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    return render(request, "campaigns_builder.html", _builder_context(session, active))


Field = Annotated[str, Form()]


@pages.post("")
def create_campaign(
    session: DbSession, active: ConsoleWrite, name: Field = "", channel: Field = "",
    audience_kind: Field = "", segment_id: Field = "",
    group_ids: Annotated[list[str] | None, Form()] = None, content_id: Field = "",
    coupon_template_id: Field = "", schedule_kind: Field = "", send_at: Field = "",
    weekday: Field = "", time_of_day: Field = "12:00", trigger_kind: Field = "",
    trigger_days: Field = "", holdout_percent: Field = "", customer_cap_per_week: Field = "",
    group_cap_per_week: Field = "", quiet_hours_policy: Field = "defer",
    max_risk_level: Field = "medium", attribution_days: Field = "",
    staff_seconds_per_delivery: Field = "", staff_cost_yuan_per_hour: Field = "",
    sender_userid: Field = "", promotes: Field = "",
) -> Response:
    groups = [whole(item, "group_ids") for item in group_ids or [] if item.strip()]
    try:
        staff_cost = parse_yuan(staff_cost_yuan_per_hour) \
            if staff_cost_yuan_per_hour.strip() else 0
    except ValueError as error:
        raise InvalidInput("not an amount", fields=["staff_cost_yuan_per_hour"]) from error
    try:
        data = CampaignIn.model_validate({
            "name": name, "channel": channel, "audience_kind": audience_kind,
            "segment_id": whole(segment_id, "segment_id"),
            "group_ids": [group for group in groups if group is not None],
            "content_id": whole(content_id, "content_id"),
            "coupon_template_id": whole(coupon_template_id, "coupon_template_id"),
            "schedule_kind": schedule_kind, "send_at": local_moment(send_at, "send_at"),
            "weekday": whole(weekday, "weekday"), "time_of_day": time_of_day or "12:00",
            "trigger_kind": trigger_kind or None,
            "trigger_days": whole(trigger_days, "trigger_days", 0),
            "holdout_share": decimal(holdout_percent, "holdout_percent", 10.0) / 100,
            "customer_cap_per_week": whole(customer_cap_per_week, "customer_cap_per_week", 2),
            "group_cap_per_week": whole(group_cap_per_week, "group_cap_per_week", 2),
            "quiet_hours_policy": quiet_hours_policy, "max_risk_level": max_risk_level,
            "attribution_days": whole(attribution_days, "attribution_days", 7),
            "staff_seconds_per_delivery": whole(staff_seconds_per_delivery,
                                                "staff_seconds_per_delivery", 0),
            "staff_cost_fen_per_hour": staff_cost, "sender_userid": sender_userid,
            **_promotion(promotes),
        })
    except ValidationError as error:
        raise invalid_form(error) from error
    campaign = campaign_service.create_campaign(session, actor=active.principal, data=data)
    return RedirectResponse(f"/console/campaigns/{campaign.id}", status_code=303)


@pages.get("/calendar")
def calendar(request: Request, session: DbSession, active: ConsoleSession,
             start: str = "") -> Response:
    first = parse_day(start, to_local(utcnow()).date())
    days = service.calendar(session, actor=active.principal, first_day=first,
                            days=CALENDAR_DAYS)
    weeks = [days[index:index + 7] for index in range(0, len(days), 7)]
    return render(request, "campaigns_calendar.html", {
        "weeks": weeks, "first": first, "days": CALENDAR_DAYS,
        "previous": (first - timedelta(days=CALENDAR_DAYS)).isoformat(),
        "next": (first + timedelta(days=CALENDAR_DAYS)).isoformat(),
        "today": to_local(utcnow()).date(),
    })


@pages.get("/{campaign_id:int}")
def campaign_detail(request: Request, session: DbSession, active: ConsoleSession,
                    campaign_id: int) -> Response:
    principal = active.principal
    campaign = campaign_service.read_campaign(session, actor=principal,
                                              campaign_id=campaign_id)
    read = campaign_service.present(campaign)
    segment = (segment_service.present(segment_service.get_segment(
        session, segment_id=campaign.segment_id)) if campaign.segment_id else None)
    content = content_service.present(content_service.get_content(
        session, content_id=campaign.content_id))
    return render(request, "campaigns_detail.html", {
        "campaign": read, "segment": segment, "content": content,
        "plan": service.preview_plan(session, actor=principal, campaign_id=campaign_id),
        "deliveries": service.delivery_counts(session, actor=principal,
                                              campaign_id=campaign_id),
        "reasons": [reason.value for reason in SuppressionReason],
        "actions": [action.value for action in STATUS_ACTIONS.get(read.status, ())],
        "send_at": to_local(read.send_at).strftime("%Y-%m-%d %H:%M") if read.send_at else "",
    })


@pages.post("/{campaign_id:int}/status")
def set_status(session: DbSession, active: ConsoleWrite, campaign_id: int,
               status: Field = "") -> Response:
    try:
        chosen = CampaignStatus(status)
    except ValueError as error:
        raise InvalidInput("unknown status", fields=["status"]) from error
    campaign_service.set_status(session, actor=active.principal, campaign_id=campaign_id,
                                status=chosen)
    return RedirectResponse(f"/console/campaigns/{campaign_id}", status_code=303)


@pages.get("/{campaign_id:int}/results")
def campaign_results(request: Request, session: DbSession, active: ConsoleSession,
                     campaign_id: int) -> Response:
    principal = active.principal
    campaign = campaign_service.present(campaign_service.read_campaign(
        session, actor=principal, campaign_id=campaign_id))
    found = results.campaign_results(session, actor=principal, campaign_id=campaign_id)
    return render(request, "campaigns_results.html", {
        "campaign": campaign, "results": found,
        "chart_data": {
            "treated_rate": found.treated_rate, "holdout_rate": found.holdout_rate,
            "uplift": found.uplift, "uplift_low": found.uplift_low,
            "uplift_high": found.uplift_high,
            "incremental_gmv_yuan": found.incremental_gmv_fen / 100,
            "cost_yuan": found.cost_fen / 100, "roi": found.roi,
            "daily": found.daily,
        },
    })


router.include_router(pages)
