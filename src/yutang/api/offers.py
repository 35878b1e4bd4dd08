"""Coupons, stored value, points and membership (public contract: paths, fields, codes).

Every write takes an ``idempotency_key``; a replay answers the first outcome — the same
status and body, an error included — with the header ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from yutang.api.deps import ApiPrincipal, ApiWriter, bearer_key
from yutang.api.redemption_batches import CallerRedemption, RedemptionBatcher
from yutang.kit.web import DbSession
from yutang.offers import service as offers
from yutang.offers.errors import InvalidReconciliationDate
from yutang.offers.schemas import (
    ChargeIn,
    ClaimIn,
    CouponActionIn,
    CouponRead,
    CouponTemplateCreate,
    CouponTemplateRead,
    MemberRead,
    MembershipTierCreate,
    MembershipTierRead,
    PointsEarnIn,
    PointsRead,
    PointsRedeemIn,
    PointsTransactionRead,
    ReconciliationRead,
    RedemptionIn,
    RedemptionRead,
    StoredValueRead,
    StoredValueRefundIn,
    StoredValueTransactionRead,
    TopUpIn,
    TopUpPlanCreate,
    TopUpPlanRead,
)

router = APIRouter(tags=["offers"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found (`coupon_not_found`, `customer_not_found`…)"},
    409: {"description": "a rule of the domain refused it (see the error code)"},
}


def _answer(outcome: offers.Outcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


def _responses(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model}, **_ERRORS}


# --- coupons -------------------------------------------------------------------------------


@router.post("/coupon-templates", status_code=201, responses=_responses(CouponTemplateRead),
             response_class=JSONResponse)
def create_coupon_template(data: CouponTemplateCreate, writer: ApiWriter) -> JSONResponse:
    """A coupon template: threshold (满减), discount (折扣), gift (满赠), add-on (加价购) or
    bundle (套餐), with its stock, per-customer limit, validity, scope and stacking."""
    return _answer(writer(lambda session, principal: offers.create_template(
        session, actor=principal, data=data)))


@router.get("/coupon-templates")
def list_coupon_templates(principal: ApiPrincipal,
                          session: DbSession) -> list[CouponTemplateRead]:
    return offers.list_templates(session, actor=principal)


@router.get("/coupon-templates/{template_id}")
def get_coupon_template(template_id: int, principal: ApiPrincipal,
                        session: DbSession) -> CouponTemplateRead:
    return offers.template_read(session, actor=principal, template_id=template_id)


@router.post("/coupon-templates/{template_id}/claims", status_code=201,
             responses=_responses(CouponRead), response_class=JSONResponse)
def claim_coupon(template_id: int, data: ClaimIn, writer: ApiWriter) -> JSONResponse:
    """201 the coupon; 409 ``coupon_out_of_stock``, ``coupon_claim_limit``,
    ``coupon_template_closed``."""
    return _answer(writer(lambda session, principal: offers.claim(
        session, actor=principal, template_id=template_id, data=data)))


@router.get("/coupons/{code}")
def get_coupon(code: str, principal: ApiPrincipal, session: DbSession) -> CouponRead:
    return offers.coupon_read(session, actor=principal, code=code)


@router.post("/coupons/{code}/redemptions", status_code=201,
             responses=_responses(RedemptionRead), response_class=JSONResponse)
async def redeem_coupon(code: str, data: RedemptionIn, request: Request) -> JSONResponse:
    """Redeem against an order yutang knows (``order_id``, or ``source`` +
    ``external_order_id``): 201; 409 ``coupon_already_redeemed``, ``coupon_not_applicable``,
    ``coupon_expired``, ``coupon_voided``. Concurrent redemptions share a transaction
    (group commit); each is answered once it is committed."""
    batcher: RedemptionBatcher = request.app.state.redemption_batcher
    return _answer(await batcher.run(CallerRedemption(bearer_key(request), code, data)))


@router.post("/coupons/{code}/releases", status_code=201, responses=_responses(CouponRead),
             response_class=JSONResponse)
def release_coupon(code: str, data: CouponActionIn, writer: ApiWriter) -> JSONResponse:
    """Give a redeemed coupon back (its order was refunded): 409 ``coupon_not_redeemed``."""
    return _answer(writer(lambda session, principal: offers.release(
        session, actor=principal, code=code, data=data)))


@router.post("/coupons/{code}/voids", status_code=201, responses=_responses(CouponRead),
             response_class=JSONResponse)
def void_coupon(code: str, data: CouponActionIn, writer: ApiWriter) -> JSONResponse:
    return _answer(writer(lambda session, principal: offers.void(
        session, actor=principal, code=code, data=data)))


@router.get("/members/{customer_id}/coupons")
def customer_coupons(customer_id: int, principal: ApiPrincipal,
                     session: DbSession) -> list[CouponRead]:
    return offers.coupons_of(session, actor=principal, customer_id=customer_id)


# --- stored value --------------------------------------------------------------------------


@router.post("/top-up-plans", status_code=201, responses=_responses(TopUpPlanRead),
             response_class=JSONResponse)
def create_top_up_plan(data: TopUpPlanCreate, writer: ApiWriter) -> JSONResponse:
    """A top-up plan (充值方案): pay at least ``pay_fen``, get ``bonus_fen`` on top."""
    return _answer(writer(lambda session, principal: offers.create_plan(
        session, actor=principal, data=data)))


@router.get("/top-up-plans")
def list_top_up_plans(principal: ApiPrincipal, session: DbSession) -> list[TopUpPlanRead]:
    return offers.list_plans(session, actor=principal)


@router.get("/members/{customer_id}/stored-value")
def get_stored_value(customer_id: int, principal: ApiPrincipal,
                     session: DbSession) -> StoredValueRead:
    """``{balance_fen, principal_fen, bonus_fen, entries}``: balances are sums of entries."""
    return offers.stored_value_of(session, actor=principal, customer_id=customer_id)


@router.post("/members/{customer_id}/stored-value/top-ups", status_code=201,
             responses=_responses(StoredValueTransactionRead), response_class=JSONResponse)
def top_up(customer_id: int, data: TopUpIn, writer: ApiWriter) -> JSONResponse:
    return _answer(writer(lambda session, principal: offers.top_up(
        session, actor=principal, customer_id=customer_id, data=data)))


@router.post("/members/{customer_id}/stored-value/charges", status_code=201,
             responses=_responses(StoredValueTransactionRead), response_class=JSONResponse)
def charge(customer_id: int, data: ChargeIn, writer: ApiWriter) -> JSONResponse:
    """Pay for an order (yutang's ``order_id`` or the merchant's ``external_order_id``) from
    the balance: 409 ``insufficient_balance``."""
    return _answer(writer(lambda session, principal: offers.charge(
        session, actor=principal, customer_id=customer_id, data=data)))


@router.post("/members/{customer_id}/stored-value/refunds", status_code=201,
             responses=_responses(StoredValueTransactionRead), response_class=JSONResponse)
def refund(customer_id: int, data: StoredValueRefundIn, writer: ApiWriter) -> JSONResponse:
    """With an order: its charge back to the balance (409 ``refund_exceeds_charges``).
    Without: principal paid back to the customer (409 ``insufficient_balance``)."""
    return _answer(writer(lambda session, principal: offers.refund(
        session, actor=principal, customer_id=customer_id, data=data)))


@router.get("/stored-value/reconciliation")
def reconciliation(principal: ApiPrincipal, session: DbSession,
                   day: str) -> ReconciliationRead:
    """The daily reconciliation (``day``: YYYY-MM-DD, Asia/Shanghai)."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError as error:
        raise InvalidReconciliationDate("give the day as YYYY-MM-DD", day=day) from error
    return offers.reconcile(session, actor=principal, day=parsed)


# --- points and membership -----------------------------------------------------------------


@router.get("/members/{customer_id}/points")
def get_points(customer_id: int, principal: ApiPrincipal, session: DbSession) -> PointsRead:
    return offers.points_of(session, actor=principal, customer_id=customer_id)


@router.post("/members/{customer_id}/points/earnings", status_code=201,
             responses=_responses(PointsTransactionRead), response_class=JSONResponse)
def earn_points(customer_id: int, data: PointsEarnIn, writer: ApiWriter) -> JSONResponse:
    """``points``, or ``amount_fen`` spent (points per whole yuan)."""
    return _answer(writer(lambda session, principal: offers.earn_points(
        session, actor=principal, customer_id=customer_id, data=data)))


@router.post("/members/{customer_id}/points/redemptions", status_code=201,
             responses=_responses(PointsTransactionRead), response_class=JSONResponse)
def redeem_points(customer_id: int, data: PointsRedeemIn, writer: ApiWriter) -> JSONResponse:
    """Spend points, oldest first: 409 ``insufficient_points``."""
    return _answer(writer(lambda session, principal: offers.redeem_points(
        session, actor=principal, customer_id=customer_id, data=data)))


@router.post("/membership-tiers", status_code=201, responses=_responses(MembershipTierRead),
             response_class=JSONResponse)
def create_tier(data: MembershipTierCreate, writer: ApiWriter) -> JSONResponse:
    return _answer(writer(lambda session, principal: offers.create_tier(
        session, actor=principal, data=data)))


@router.get("/membership-tiers")
def list_tiers(principal: ApiPrincipal, session: DbSession) -> list[MembershipTierRead]:
    del principal  # any key may read the tiers
    return offers.list_tiers(session)


@router.get("/members/{customer_id}")
def get_member(customer_id: int, principal: ApiPrincipal, session: DbSession) -> MemberRead:
    """The member's tier, super-user mark and tier history."""
    return offers.member_of(session, actor=principal, customer_id=customer_id)
