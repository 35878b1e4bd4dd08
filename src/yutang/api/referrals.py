"""Referral codes and edges, fission tasks (任务宝), partners (友商) and the fission metrics
(public contract: paths, fields, error codes).

A write that finds what it would make (the owner's code, the same referral again, a task
already started, a customer already sent) answers 200 with it instead of 201.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.fission import referral_service as fission
from yutang.fission.metrics_schemas import FissionMetricsRead
from yutang.fission.partner_schemas import (
    PartnerCreate,
    PartnerOfferCreate,
    PartnerOfferRead,
    PartnerRead,
    PartnerReferralIn,
    PartnerReferralRead,
)
from yutang.fission.referral_schemas import (
    ReferralCodeCreate,
    ReferralCodeRead,
    ReferralIn,
    ReferralRead,
    ReferralTransitionIn,
)
from yutang.fission.task_schemas import (
    FissionTaskCreate,
    FissionTaskRead,
    ParticipantIn,
    ParticipantRead,
    PurchaseRightRead,
)
from yutang.kit.web import DbSession

router = APIRouter(tags=["fission"])

_CONFLICTS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found (`referral_code_not_found`, `customer_not_found`…)"},
    409: {"description": "refused: `self_referral`, `already_referred`, `referral_cycle`, "
                         "`referral_code_inactive`, `referral_status_conflict`, "
                         "`fission_task_closed`…"},
}


def links(request: Request) -> fission.ReferralLinks:
    return fission.ReferralLinks(str(request.base_url).rstrip("/"))


def _made(body: BaseModel, created: bool) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if created else 200)


# --- codes and referrals -------------------------------------------------------------------


@router.post("/referral-codes", status_code=201, response_model=ReferralCodeRead,
             responses=_CONFLICTS)
def create_referral_code(data: ReferralCodeCreate, request: Request,
                         writer: ApiWriter) -> JSONResponse:
    """A referral code and link for a customer, a KOC or a staff member (their one general
    code: 200 with it when it exists)."""
    def create(session: Session, principal: Principal) -> tuple[ReferralCodeRead, bool]:
        return fission.create_code(session, actor=principal, data=data, links=links(request))

    return _made(*writer(create))


@router.get("/referral-codes/{code}")
def get_referral_code(code: str, request: Request, principal: ApiPrincipal,
                      session: DbSession) -> ReferralCodeRead:
    return fission.code_read(session, actor=principal, code=code, links=links(request))


@router.post("/referrals", status_code=201, response_model=ReferralRead, responses=_CONFLICTS)
def record_referral(data: ReferralIn, writer: ApiWriter) -> JSONResponse:
    """A friend came through a code (clicked, or joined at once): the referral edge. 409
    ``self_referral``; ``already_referred`` when another referrer has the customer
    (single-level, first come); ``referral_cycle``; ``referral_code_inactive``."""
    return _made(*writer(lambda session, principal: fission.record_referral(
        session, actor=principal, data=data)))


@router.get("/referrals/{referral_id}")
def get_referral(referral_id: int, principal: ApiPrincipal,
                 session: DbSession) -> ReferralRead:
    return fission.referral_read(session, actor=principal, referral_id=referral_id)


@router.post("/referrals/{referral_id}/transitions", responses=_CONFLICTS)
def move_referral(referral_id: int, data: ReferralTransitionIn,
                  writer: ApiWriter) -> ReferralRead:
    """joined, first_order, rewarded (forward only) or rejected (with a reason); a step
    already taken answers the edge unchanged; 409 ``referral_status_conflict``."""
    return writer(lambda session, principal: fission.transition(
        session, actor=principal, referral_id=referral_id, data=data))


@router.get("/customers/{customer_id}/purchase-rights")
def list_purchase_rights(customer_id: int, principal: ApiPrincipal,
                         session: DbSession) -> list[PurchaseRightRead]:
    """Products the customer may buy because a fission task rewarded them."""
    return fission.purchase_rights(session, actor=principal, customer_id=customer_id)


# --- fission tasks -------------------------------------------------------------------------


@router.post("/fission-tasks", status_code=201, responses=_CONFLICTS)
def create_fission_task(data: FissionTaskCreate, writer: ApiWriter) -> FissionTaskRead:
    """"Invite ``invite_target`` friends who join within ``window_days`` days" → a coupon
    (``coupon_template_id``), points (``reward_points``) or the right to buy a product
    (``product_sku``). 422 ``commissions_disabled`` for ``commission_points`` (off)."""
    return writer(lambda session, principal: fission.create_task(
        session, actor=principal, data=data))


@router.get("/fission-tasks")
def list_fission_tasks(principal: ApiPrincipal, session: DbSession) -> list[FissionTaskRead]:
    return fission.list_tasks(session, actor=principal)


@router.get("/fission-tasks/{task_id}")
def get_fission_task(task_id: int, principal: ApiPrincipal,
                     session: DbSession) -> FissionTaskRead:
    return fission.task_read(session, actor=principal, task_id=task_id)


@router.post("/fission-tasks/{task_id}/participants", status_code=201,
             response_model=ParticipantRead, responses=_CONFLICTS)
def start_fission_task(task_id: int, data: ParticipantIn, writer: ApiWriter) -> JSONResponse:
    """The customer starts the task: their task code and progress (200 if started before);
    409 ``fission_task_closed``."""
    return _made(*writer(lambda session, principal: fission.participate(
        session, actor=principal, task_id=task_id, customer_id=data.customer_id)))


@router.get("/fission-tasks/{task_id}/participants/{customer_id}")
def fission_task_progress(task_id: int, customer_id: int, principal: ApiPrincipal,
                          session: DbSession) -> ParticipantRead:
    return fission.progress(session, actor=principal, task_id=task_id,
                            customer_id=customer_id)


# --- partners ------------------------------------------------------------------------------


@router.post("/partners", status_code=201, responses=_CONFLICTS)
def create_partner(data: PartnerCreate, request: Request, writer: ApiWriter) -> PartnerRead:
    """A partner merchant (友商) with our referral code for them (``inbound_code``) and
    theirs for us (``outbound_code``); 409 ``partner_code_taken``."""
    return writer(lambda session, principal: fission.create_partner(
        session, actor=principal, data=data, links=links(request)))


@router.get("/partners")
def list_partners(request: Request, principal: ApiPrincipal,
                  session: DbSession) -> list[PartnerRead]:
    return fission.list_partners(session, actor=principal, links=links(request))


@router.get("/partners/{partner_id}")
def get_partner(partner_id: int, request: Request, principal: ApiPrincipal,
                session: DbSession) -> PartnerRead:
    return fission.partner_read(session, actor=principal, partner_id=partner_id,
                                links=links(request))


@router.post("/partners/{partner_id}/offers", status_code=201)
def add_partner_offer(partner_id: int, data: PartnerOfferCreate,
                      writer: ApiWriter) -> PartnerOfferRead:
    return writer(lambda session, principal: fission.add_partner_offer(
        session, actor=principal, partner_id=partner_id, data=data))


@router.post("/partners/{partner_id}/referrals", status_code=201,
             response_model=PartnerReferralRead)
def send_to_partner(partner_id: int, data: PartnerReferralIn,
                    writer: ApiWriter) -> JSONResponse:
    """One of our customers sent to the partner (counted once: 200 when sent before)."""
    return _made(*writer(lambda session, principal: fission.send_to_partner(
        session, actor=principal, partner_id=partner_id, data=data)))


# --- metrics -------------------------------------------------------------------------------


@router.get("/fission/metrics")
def fission_metrics(principal: ApiPrincipal, session: DbSession,
                    task_id: int | None = Query(default=None, gt=0),
                    since: datetime | None = None,
                    until: datetime | None = None) -> FissionMetricsRead:
    """K-factor with its 95% interval, conversion per step, cycle time, tree depth, top
    spreaders, share of new customers from fission (``since``/``until`` bound the clicks
    and the acquisitions)."""
    return fission.fission_metrics(session, actor=principal, task_id=task_id, since=since,
                                   until=until)
