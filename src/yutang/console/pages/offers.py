"""Offers in the console: coupon templates (stock, issued, redeemed), a customer's coupons,
stored value and points, membership tiers, stored-value accounts and plans, and the daily
reconciliation. Writes go through the same idempotent use cases as the API (each form
carries a fresh idempotency key, so a double submit changes nothing twice)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.access import service as access_service
from yutang.access.roles import Permission
from yutang.console.i18n import has_message, translate
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import locale_of, render
from yutang.kit.clock import to_local, utcnow
from yutang.kit.errors import InvalidInput
from yutang.kit.money import parse_yuan
from yutang.kit.web import DbSession
from yutang.offers import service as offers
from yutang.offers.errors import InvalidReconciliationDate
from yutang.offers.schemas import (
    ClaimIn,
    CouponTemplateCreate,
    MembershipTierCreate,
    TopUpIn,
    TopUpPlanCreate,
)

router = APIRouter(prefix="/offers")

KINDS = ("threshold", "discount", "gift", "add_on", "bundle")


def _key() -> str:
    return secrets.token_urlsafe(16)


def _invalid(error: ValidationError) -> InvalidInput:
    fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
    return InvalidInput("the form is not valid", fields=fields)


def _fen(text: str) -> int | None:
    return parse_yuan(text) if text.strip() else None


def _int(text: str) -> int | None:
    try:
        return int(text) if text.strip() else None
    except ValueError as error:
        raise InvalidInput("not a whole number", value=text) from error


def _after(request: Request, outcome: offers.Outcome, target: str) -> Response:
    """Back to ``target`` when the write succeeded; its error, in the viewer's language,
    when it did not (the idempotency record keeps the outcome either way)."""
    if outcome.succeeded:
        return RedirectResponse(target, status_code=303)
    error = outcome.body["error"]
    locale = locale_of(request)
    key = f"error.{error['code']}"
    details: dict[str, Any] = error.get("details") or {}
    message = translate(locale, key, **details) if has_message(locale, key) else error["message"]
    return render(request, "error.html", {"code": error["code"], "message": message},
                  status_code=outcome.status_code)


# --- coupon templates ----------------------------------------------------------------------


@router.get("/coupons")
def coupon_templates(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    return render(request, "offers_coupons.html", {
        "templates": offers.list_templates(session, actor=active.principal),
        "kinds": KINDS, "idempotency_key": _key(),
    })


@router.post("/coupons")
def create_coupon_template(
    request: Request, session: DbSession, active: ConsoleWrite,
    idempotency_key: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "", threshold_yuan: Annotated[str, Form()] = "",
    discount_yuan: Annotated[str, Form()] = "", rate: Annotated[str, Form()] = "",
    cap_yuan: Annotated[str, Form()] = "", gift_sku: Annotated[str, Form()] = "",
    add_on_sku: Annotated[str, Form()] = "", add_on_price_yuan: Annotated[str, Form()] = "",
    bundle_skus: Annotated[str, Form()] = "", bundle_price_yuan: Annotated[str, Form()] = "",
    stock: Annotated[str, Form()] = "", per_customer_limit: Annotated[str, Form()] = "",
    valid_days: Annotated[str, Form()] = "", stacking: Annotated[str, Form()] = "exclusive",
) -> Response:
    try:
        data = CouponTemplateCreate.model_validate({
            "idempotency_key": idempotency_key or _key(), "name": name, "kind": kind,
            "threshold_fen": _fen(threshold_yuan) or 0, "discount_fen": _fen(discount_yuan),
            "rate": rate or None, "cap_fen": _fen(cap_yuan), "gift_sku": gift_sku or None,
            "add_on_sku": add_on_sku or None, "add_on_price_fen": _fen(add_on_price_yuan),
            "bundle_skus": [sku.strip() for sku in bundle_skus.split(",") if sku.strip()],
            "bundle_price_fen": _fen(bundle_price_yuan), "stock": _int(stock),
            "per_customer_limit": _int(per_customer_limit),
            "valid_days": _int(valid_days) or 30, "stacking": stacking,
        })
    except ValidationError as error:
        raise _invalid(error) from error
    outcome = offers.create_template(session, actor=active.principal, data=data)
    return _after(request, outcome, "/console/offers/coupons")


# --- a customer's coupons, stored value, points and tier -----------------------------------


@router.get("/customers/{customer_id}")
def customer_offers(request: Request, session: DbSession, active: ConsoleSession,
                    customer_id: int) -> Response:
    principal = active.principal
    member = offers.member_of(session, actor=principal, customer_id=customer_id)
    return render(request, "offers_customer.html", {
        "member": member,
        "coupons": offers.coupons_of(session, actor=principal, customer_id=customer_id),
        "stored_value": offers.stored_value_of(session, actor=principal,
                                               customer_id=customer_id),
        "points": offers.points_of(session, actor=principal, customer_id=customer_id),
        "templates": [template for template in offers.list_templates(session, actor=principal)
                      if template.status == "active"],
        "plans": [plan for plan in offers.list_plans(session, actor=principal)
                  if plan.is_active],
        "idempotency_key": _key(),
    })


@router.post("/customers/{customer_id}/claims")
def claim_for_customer(request: Request, session: DbSession, active: ConsoleWrite,
                       customer_id: int, template_id: Annotated[int, Form()] = 0,
                       idempotency_key: Annotated[str, Form()] = "") -> Response:
    try:
        data = ClaimIn.model_validate({"idempotency_key": idempotency_key or _key(),
                                       "customer_id": customer_id, "source": "console"})
    except ValidationError as error:
        raise _invalid(error) from error
    outcome = offers.claim(session, actor=active.principal, template_id=template_id, data=data)
    return _after(request, outcome, f"/console/offers/customers/{customer_id}")


@router.post("/customers/{customer_id}/top-ups")
def top_up_for_customer(request: Request, session: DbSession, active: ConsoleWrite,
                        customer_id: int, amount_yuan: Annotated[str, Form()] = "",
                        plan_id: Annotated[str, Form()] = "",
                        idempotency_key: Annotated[str, Form()] = "") -> Response:
    try:
        data = TopUpIn(idempotency_key=idempotency_key or _key(),
                       amount_fen=parse_yuan(amount_yuan or "x"), plan_id=_int(plan_id))
    except ValidationError as error:
        raise _invalid(error) from error
    outcome = offers.top_up(session, actor=active.principal, customer_id=customer_id,
                            data=data)
    return _after(request, outcome, f"/console/offers/customers/{customer_id}")


# --- members and tiers ---------------------------------------------------------------------


@router.get("/members")
def members(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    access_service.require(active.principal, Permission.CUSTOMERS_READ)
    return render(request, "offers_members.html", {
        "summary": offers.tier_summary(session), "idempotency_key": _key(),
    })


@router.post("/members/tiers")
def create_tier(
    request: Request, session: DbSession, active: ConsoleWrite,
    idempotency_key: Annotated[str, Form()] = "", code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "", rank: Annotated[str, Form()] = "",
    min_spend_yuan: Annotated[str, Form()] = "", min_points: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = MembershipTierCreate(
            idempotency_key=idempotency_key or _key(), code=code, name=name,
            rank=_int(rank) or 0, min_spend_fen=_fen(min_spend_yuan) or 0,
            min_points=_int(min_points) or 0)
    except ValidationError as error:
        raise _invalid(error) from error
    outcome = offers.create_tier(session, actor=active.principal, data=data)
    return _after(request, outcome, "/console/offers/members")


@router.post("/members/regrade")
def regrade(session: DbSession, active: ConsoleWrite) -> Response:
    result = offers.regrade(session, actor=active.principal)
    return RedirectResponse(f"/console/offers/members?changed={result.changed}",
                            status_code=303)


# --- stored value --------------------------------------------------------------------------


@router.get("/stored-value")
def stored_value_accounts(request: Request, session: DbSession,
                          active: ConsoleSession) -> Response:
    return render(request, "offers_stored_value.html", {
        "accounts": offers.stored_value_accounts(session, actor=active.principal),
        "plans": offers.list_plans(session, actor=active.principal),
        "idempotency_key": _key(),
    })


@router.post("/stored-value/plans")
def create_plan(
    request: Request, session: DbSession, active: ConsoleWrite,
    idempotency_key: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    pay_yuan: Annotated[str, Form()] = "", bonus_yuan: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = TopUpPlanCreate(idempotency_key=idempotency_key or _key(), name=name,
                               pay_fen=parse_yuan(pay_yuan or "x"),
                               bonus_fen=parse_yuan(bonus_yuan or "0"))
    except ValidationError as error:
        raise _invalid(error) from error
    outcome = offers.create_plan(session, actor=active.principal, data=data)
    return _after(request, outcome, "/console/offers/stored-value")


@router.get("/reconciliation")
def reconciliation(request: Request, session: DbSession, active: ConsoleSession,
                   day: str = "") -> Response:
    if day:
        try:
            chosen = date.fromisoformat(day)
        except ValueError as error:
            raise InvalidReconciliationDate("give the day as YYYY-MM-DD", day=day) from error
    else:
        chosen = to_local(utcnow()).date() - timedelta(days=1)
    report = offers.reconcile(session, actor=active.principal, day=chosen)
    return render(request, "offers_reconciliation.html", {"report": report})
