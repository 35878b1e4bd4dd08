"""Segments, the content library, campaigns, plan previews, deliveries and results, and
follow-ups (public contract: paths, fields, codes). Writes run in one writer transaction."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.campaigns import campaigns as campaign_service
from yutang.campaigns import content as content_service
from yutang.campaigns import follow_ups, operator_load, results, service
from yutang.campaigns import segments as segment_service
from yutang.campaigns.follow_ups_models import FollowUpTask, TaskStatus
from yutang.campaigns.follow_ups_schemas import (
    FollowUpRuleIn,
    FollowUpRuleRead,
    GenerationReport,
    StaffCompletion,
    TaskDone,
    TaskRead,
)
from yutang.campaigns.models import CampaignStatus
from yutang.campaigns.operator_load_schemas import ActionSeconds, OperatorLoad
from yutang.campaigns.schemas import (
    CampaignIn,
    CampaignRead,
    ContentIn,
    ContentPreview,
    ContentRead,
    DeliveryCounts,
    PlanSummary,
    SegmentIn,
    SegmentPreview,
    SegmentRead,
    UpliftRead,
)
from yutang.kit.web import DbSession

router = APIRouter(tags=["campaigns"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found (`segment_not_found`, `content_not_found`, "
                         "`campaign_not_found`…)"},
    409: {"description": "a rule of the domain refused it (`content_not_approved`…)"},
    422: {"description": "`invalid_segment_rule` (details.path names the bad node), "
                         "`unknown_template_variable`, `invalid_campaign`…"},
}


def _created(model: BaseModel) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=201)


class RuleIn(BaseModel):
    rule: Any
    limit: int = Field(default=20, ge=1, le=100)


class StatusIn(BaseModel):
    status: CampaignStatus


# --- segments --------------------------------------------------------------------------------


@router.post("/segments", status_code=201, response_model=SegmentRead, responses=_ERRORS)
def create_segment(data: SegmentIn, writer: ApiWriter) -> JSONResponse:
    return _created(writer(lambda session, principal: segment_service.present(
        segment_service.create_segment(session, actor=principal, data=data))))


@router.get("/segments")
def list_segments(principal: ApiPrincipal, session: DbSession) -> list[SegmentRead]:
    return [segment_service.present(segment)
            for segment in segment_service.list_segments(session, actor=principal)]


@router.put("/segments/{segment_id}", responses=_ERRORS)
def update_segment(segment_id: int, data: SegmentIn, writer: ApiWriter) -> SegmentRead:
    return writer(lambda session, principal: segment_service.present(
        segment_service.update_segment(session, actor=principal, segment_id=segment_id,
                                       data=data)))


@router.post("/segments/{segment_id}/count", responses=_ERRORS)
def count_segment(segment_id: int, writer: ApiWriter) -> SegmentRead:
    """Count the segment live (one statement) and keep the figure on it."""
    return writer(lambda session, principal: segment_service.present(
        segment_service.refresh_count(session, actor=principal, segment_id=segment_id)))


@router.post("/segments/preview", responses=_ERRORS)
def preview_rule(data: RuleIn, principal: ApiPrincipal, session: DbSession) -> SegmentPreview:
    """A rule's live count and its first customers, masked as the caller sees customers."""
    return segment_service.preview_rule(session, actor=principal, rule=data.rule,
                                        limit=data.limit)


# --- content ---------------------------------------------------------------------------------


@router.post("/content", status_code=201, response_model=ContentRead, responses=_ERRORS)
def create_content(data: ContentIn, writer: ApiWriter) -> JSONResponse:
    return _created(writer(lambda session, principal: content_service.present(
        content_service.create_content(session, actor=principal, data=data))))


@router.get("/content")
def list_content(principal: ApiPrincipal, session: DbSession,
                 category: str | None = None) -> list[ContentRead]:
    return [content_service.present(item) for item in
            content_service.list_content(session, actor=principal, category=category)]


@router.put("/content/{content_id}", responses=_ERRORS)
def update_content(content_id: int, data: ContentIn, writer: ApiWriter) -> ContentRead:
    """Edit a template; it becomes a draft again."""
    return writer(lambda session, principal: content_service.present(
        content_service.update_content(session, actor=principal, content_id=content_id,
                                       data=data)))


@router.post("/content/{content_id}/approve", responses=_ERRORS)
def approve_content(content_id: int, writer: ApiWriter) -> ContentRead:
    return writer(lambda session, principal: content_service.present(
        content_service.approve_content(session, actor=principal, content_id=content_id)))


@router.get("/content/{content_id}/preview", responses=_ERRORS)
def preview_content(content_id: int, customer_id: int, principal: ApiPrincipal,
                    session: DbSession) -> ContentPreview:
    """The content as this customer would receive it, personal values masked."""
    return content_service.preview_content(session, actor=principal, content_id=content_id,
                                           customer_id=customer_id)


# --- campaigns -------------------------------------------------------------------------------


@router.post("/campaigns", status_code=201, response_model=CampaignRead, responses=_ERRORS)
def create_campaign(data: CampaignIn, writer: ApiWriter) -> JSONResponse:
    return _created(writer(lambda session, principal: campaign_service.present(
        campaign_service.create_campaign(session, actor=principal, data=data))))


@router.get("/campaigns")
def list_campaigns(principal: ApiPrincipal, session: DbSession) -> list[CampaignRead]:
    return [campaign_service.present(item)
            for item in campaign_service.list_campaigns(session, actor=principal)]


@router.get("/campaigns/operator-load", responses=_ERRORS)
def campaign_operator_load(
    principal: ApiPrincipal, session: DbSession, week: str | None = None,
    confirm_task_seconds: Annotated[int, Query(ge=0, le=3_600)] = 30,
    follow_up_seconds: Annotated[int, Query(ge=0, le=7_200)] = 300,
    moment_post_seconds: Annotated[int, Query(ge=0, le=3_600)] = 120,
) -> OperatorLoad:
    """The staff work of an ISO week (``2026-W50``; default this week, Asia/Shanghai): per
    staff member the mass-send tasks to confirm, customers and groups reached, follow-ups
    done, Moments posted, estimated minutes; per campaign the confirmations per 1,000
    recipients; touches by schedule against by hand, staff tasks per staff member per day
    and per 10,000 pool customers. Declared
    before ``/campaigns/{campaign_id}``, which would take the path otherwise."""
    return operator_load.operator_load(
        session, actor=principal, week=week,
        seconds=ActionSeconds(confirm_task=confirm_task_seconds, follow_up=follow_up_seconds,
                              moment_post=moment_post_seconds))


@router.get("/campaigns/{campaign_id}", responses=_ERRORS)
def get_campaign(campaign_id: int, principal: ApiPrincipal, session: DbSession) -> CampaignRead:
    return campaign_service.present(campaign_service.read_campaign(
        session, actor=principal, campaign_id=campaign_id))


@router.post("/campaigns/{campaign_id}/status", responses=_ERRORS)
def set_status(campaign_id: int, data: StatusIn, writer: ApiWriter) -> CampaignRead:
    """Activate (its content must be approved), pause, complete or cancel."""
    return writer(lambda session, principal: campaign_service.present(
        campaign_service.set_status(session, actor=principal, campaign_id=campaign_id,
                                    status=data.status)))


@router.get("/campaigns/{campaign_id}/plan-preview", responses=_ERRORS)
def plan_preview(campaign_id: int, principal: ApiPrincipal, session: DbSession) -> PlanSummary:
    """How many the next run would reach, and how many each rule would suppress."""
    return service.preview_plan(session, actor=principal, campaign_id=campaign_id)


@router.get("/campaigns/{campaign_id}/deliveries", responses=_ERRORS)
def deliveries(campaign_id: int, principal: ApiPrincipal, session: DbSession) -> DeliveryCounts:
    return service.delivery_counts(session, actor=principal, campaign_id=campaign_id)


@router.get("/campaigns/{campaign_id}/results", responses=_ERRORS)
def campaign_results(campaign_id: int, principal: ApiPrincipal,
                     session: DbSession) -> UpliftRead:
    """Treated against holdout in the attribution window: uplift with its 95% interval,
    incremental GMV, cost and ROI."""
    return results.campaign_results(session, actor=principal, campaign_id=campaign_id)


# --- follow-ups (回访) -------------------------------------------------------------------------


def _closed(task: FollowUpTask) -> dict[str, Any]:
    return {"id": task.id, "status": task.status, "outcome": task.outcome}


class SkipIn(BaseModel):
    note: str = Field(default="", max_length=500)


@router.post("/follow-up-rules", status_code=201, response_model=FollowUpRuleRead,
             responses=_ERRORS)
def create_follow_up_rule(data: FollowUpRuleIn, writer: ApiWriter) -> JSONResponse:
    """A rule that creates follow-up tasks, with an approved script of the library."""
    return _created(writer(lambda session, principal: follow_ups.present_rule(
        follow_ups.create_rule(session, actor=principal, data=data))))


@router.get("/follow-up-rules")
def list_follow_up_rules(principal: ApiPrincipal,
                         session: DbSession) -> list[FollowUpRuleRead]:
    return [follow_ups.present_rule(rule)
            for rule in follow_ups.list_rules(session, actor=principal)]


@router.post("/follow-ups/generate", responses=_ERRORS)
def generate_follow_ups(writer: ApiWriter) -> GenerationReport:
    """Create the tasks every active rule calls for now (idempotent; run it daily)."""
    return writer(lambda session, principal: follow_ups.generate_tasks(session,
                                                                       actor=principal))


@router.get("/follow-ups")
def list_follow_ups(principal: ApiPrincipal, session: DbSession,
                    status: TaskStatus = TaskStatus.OPEN) -> list[TaskRead]:
    """The caller's tasks: a staff member's own, a store's for its manager, all for HQ."""
    return follow_ups.list_tasks(session, actor=principal, status=status)


@router.post("/follow-ups/{task_id}/done", responses=_ERRORS)
def complete_follow_up(task_id: int, data: TaskDone, writer: ApiWriter) -> dict[str, Any]:
    """Done with an outcome; ``next_contact_on`` opens the next task."""
    return writer(lambda session, principal: _closed(follow_ups.complete_task(
        session, actor=principal, task_id=task_id, data=data)))


@router.post("/follow-ups/{task_id}/skip", responses=_ERRORS)
def skip_follow_up(task_id: int, data: SkipIn, writer: ApiWriter) -> dict[str, Any]:
    return writer(lambda session, principal: _closed(follow_ups.skip_task(
        session, actor=principal, task_id=task_id, note=data.note)))


@router.get("/follow-ups/completion", responses=_ERRORS)
def follow_up_completion(principal: ApiPrincipal, session: DbSession, first_day: date,
                         last_day: date) -> list[StaffCompletion]:
    """Per staff member, the tasks due on those local days: done, skipped, open, overdue."""
    return follow_ups.completion(session, actor=principal, first_day=first_day,
                                 last_day=last_day)
