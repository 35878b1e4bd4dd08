"""Fission in the console: the metrics (K-factor, steps, depth, share of new customers),
the fission task builder, a task with its results against the holdout of the campaigns
promoting it, the referral tree (ECharts) of any customer or task, and partners. Writes go
through the same use cases as the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.access.roles import Permission
from yutang.campaigns import programme_results
from yutang.console.i18n import translate
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import locale_of, render
from yutang.fission import referral_service as fission
from yutang.fission.partner_schemas import PartnerCreate, PartnerOfferCreate
from yutang.fission.task_schemas import FissionTaskCreate
from yutang.kit.clock import format_local
from yutang.kit.errors import InvalidInput
from yutang.kit.web import DbSession
from yutang.offers import service as offers

router = APIRouter(prefix="/fission")
public_router = APIRouter()

REWARD_KINDS = ("coupon", "points", "purchase_right")


def _links(request: Request) -> fission.ReferralLinks:
    return fission.ReferralLinks(str(request.base_url).rstrip("/"))


def _invalid(error: ValidationError) -> InvalidInput:
    fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
    return InvalidInput("the form is not valid", fields=fields)


def _int(text: str) -> int | None:
    try:
        return int(text) if text.strip() else None
    except ValueError as error:
        raise InvalidInput("not a whole number", value=text) from error


@router.get("")
def overview(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    principal = active.principal
    return render(request, "fission_tasks.html", {
        "metrics": fission.fission_metrics(session, actor=principal)
        if principal.can(Permission.ANALYTICS_READ) else None,
        "tasks": fission.list_tasks(session, actor=principal),
        "templates": [template for template in offers.list_templates(session, actor=principal)
                      if template.status == "active"],
        "reward_kinds": REWARD_KINDS,
    })


@router.post("/tasks")
def create_task(request: Request, session: DbSession, active: ConsoleWrite,
                name: Annotated[str, Form()] = "", invite_target: Annotated[str, Form()] = "",
                window_days: Annotated[str, Form()] = "",
                reward_kind: Annotated[str, Form()] = "",
                coupon_template_id: Annotated[str, Form()] = "",
                reward_points: Annotated[str, Form()] = "",
                product_sku: Annotated[str, Form()] = "") -> Response:
    try:
        data = FissionTaskCreate.model_validate({
            "name": name, "invite_target": _int(invite_target),
            "window_days": _int(window_days), "reward_kind": reward_kind,
            "coupon_template_id": _int(coupon_template_id) if reward_kind == "coupon" else None,
            "reward_points": _int(reward_points) if reward_kind == "points" else None,
            "product_sku": (product_sku.strip() or None)
            if reward_kind == "purchase_right" else None,
        })
    except ValidationError as error:
        raise _invalid(error) from error
    fission.create_task(session, actor=active.principal, data=data)
    return RedirectResponse("/console/fission", status_code=303)


@router.get("/tasks/{task_id}")
def task_page(request: Request, session: DbSession, active: ConsoleSession,
              task_id: int) -> Response:
    """A task with its results against the holdout of the campaigns promoting it."""
    principal = active.principal
    task = fission.task_read(session, actor=principal, task_id=task_id)
    return render(request, "fission_task.html", {
        "task": task,
        "results": programme_results.fission_task_results(session, actor=principal,
                                                          task_id=task.id)
        if principal.can(Permission.ANALYTICS_READ) else None,
    })


def _chart(request: Request, node: fission.TreeNode, root_label: str) -> dict[str, Any]:
    """The tree as ECharts wants it: name, children, and a status to colour by."""
    locale = locale_of(request)

    def convert(item: fission.TreeNode) -> dict[str, Any]:
        label = root_label if item.customer_id is None else translate(
            locale, "fission.tree.customer", id=item.customer_id)
        return {"name": label, "status": item.status,
                "statusLabel": translate(locale, f"fission.status.{item.status}"),
                "joinedAt": format_local(item.joined_at), "truncated": item.truncated,
                "children": [convert(child) for child in item.children]}

    return convert(node)


def _count(node: dict[str, Any]) -> int:
    return 1 + sum(_count(child) for child in node["children"])


@router.get("/tree")
def tree(request: Request, session: DbSession, active: ConsoleSession,
         customer_id: str = "", task_id: str = "") -> Response:
    principal = active.principal
    chart: dict[str, Any] | None = None
    locale = locale_of(request)
    if _int(task_id):
        task = fission.task_read(session, actor=principal, task_id=int(task_id))
        chart = _chart(request, fission.task_tree(session, actor=principal, task_id=task.id),
                       task.name)
    elif _int(customer_id):
        chart = _chart(request, fission.customer_tree(session, actor=principal,
                                                      customer_id=int(customer_id)), "")
    return render(request, "fission_tree.html", {
        "chart": chart, "nodes": _count(chart) if chart else 0,
        "customer_id": customer_id, "task_id": task_id,
        "tasks": fission.list_tasks(session, actor=principal),
        "legend": {status: translate(locale, f"fission.status.{status}")
                   for status in ("root", "task", "participant", "clicked", "joined",
                                  "first_order", "rewarded", "rejected")},
    })


@router.get("/partners")
def partners(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    return render(request, "fission_partners.html", {
        "partners": fission.list_partners(session, actor=active.principal,
                                          links=_links(request)),
    })


@router.post("/partners")
def create_partner(request: Request, session: DbSession, active: ConsoleWrite,
                   code: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                   category: Annotated[str, Form()] = "",
                   outbound_code: Annotated[str, Form()] = "") -> Response:
    try:
        data = PartnerCreate(code=code, name=name, category=category,
                             outbound_code=outbound_code)
    except ValidationError as error:
        raise _invalid(error) from error
    fission.create_partner(session, actor=active.principal, data=data, links=_links(request))
    return RedirectResponse("/console/fission/partners", status_code=303)


@router.post("/partners/{partner_id}/offers")
def add_partner_offer(request: Request, session: DbSession, active: ConsoleWrite,
                      partner_id: int, title: Annotated[str, Form()] = "",
                      description: Annotated[str, Form()] = "") -> Response:
    try:
        data = PartnerOfferCreate(title=title, description=description)
    except ValidationError as error:
        raise _invalid(error) from error
    fission.add_partner_offer(session, actor=active.principal, partner_id=partner_id,
                              data=data)
    return RedirectResponse("/console/fission/partners", status_code=303)


@public_router.get("/i/{code}")
def invitation(request: Request, session: DbSession, code: str) -> Response:
    """Where a referral link leads: the friend's landing page (the mini-program or H5 page
    then records the referral through ``POST /api/v1/referrals``)."""
    known = fission.code_is_active(session, code=code)
    return render(request, "landing.html", {"known": known}, status_code=200 if known else 404)
