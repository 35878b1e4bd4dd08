"""The customer list (search, pages, masked export) and the customer page (reveal on reason)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from yutang.access.roles import PersonalDataView
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.pagination import PageRequest
from yutang.kit.web import DbSession, csv_download
from yutang.pool import customer_actions
from yutang.pool import service as pool_service

router = APIRouter()

PAGE_SIZE = 20


@router.get("/customers")
def customer_list(
    request: Request,
    session: DbSession,
    active: ConsoleSession,
    q: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
    tagged: int | None = None,
    tag: str = "",
) -> Response:
    result = pool_service.search_customers(
        session, principal=active.principal, query=q or None,
        page=PageRequest(page=page, size=PAGE_SIZE),
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render(
        request,
        "customers.html",
        {
            "result": result,
            "query": q,
            "pages": pages,
            "pseudonymous": active.principal.personal_data_view
            is PersonalDataView.PSEUDONYMOUS,
            "tagged": tagged,
            "tag": tag,
        },
    )


@router.post("/customers/export")
def export_customers(
    session: DbSession,
    active: ConsoleWrite,
    reason: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
) -> Response:
    """A masked CSV of the customers the viewer may see (audited with the reason)."""
    rows = pool_service.export_customers(
        session, principal=active.principal, reason=reason, query=q or None
    )
    return csv_download(rows, "customers.csv")


@router.get("/customers/{customer_id}")
def customer_page(
    request: Request, session: DbSession, active: ConsoleSession, customer_id: int,
    detached: str | None = None,
) -> Response:
    detail = pool_service.customer_detail(
        session, principal=active.principal, customer_id=customer_id
    )
    return render(request, "customer.html",
                  {"detail": detail, "revealed": False, "detached": bool(detached)})


@router.post("/customers/{customer_id}/reveal")
def reveal_customer(
    request: Request,
    session: DbSession,
    active: ConsoleWrite,
    customer_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    detail = pool_service.customer_detail(
        session, principal=active.principal, customer_id=customer_id, reveal_reason=reason
    )
    response = render(request, "customer.html",
                      {"detail": detail, "revealed": True, "detached": False})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/customers/{customer_id}/identities/{identity_id}/detach")
def detach_identity(
    session: DbSession,
    active: ConsoleWrite,
    customer_id: int,
    identity_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Unmerge from the customer page; back to the (now smaller) customer."""
    customer_actions.detach_identity(session, actor=active.principal, customer_id=customer_id,
                                     identity_id=identity_id, reason=reason)
    return RedirectResponse(f"/console/customers/{customer_id}?detached=1", status_code=303)


@router.post("/customers/{customer_id}/tags")
def tag_customer(
    session: DbSession, active: ConsoleWrite, customer_id: int,
    tag: Annotated[str, Form()] = "",
) -> Response:
    customer_actions.tag_customers(session, actor=active.principal, customer_ids=[customer_id],
                                   tag_name=tag)
    return RedirectResponse(f"/console/customers/{customer_id}", status_code=303)


@router.post("/customers/tags")
def tag_search_results(
    session: DbSession, active: ConsoleWrite,
    tag: Annotated[str, Form()] = "", q: Annotated[str, Form()] = "",
) -> Response:
    """Bulk tagging: every customer the search finds gets the tag."""
    tagged = customer_actions.tag_search_results(session, actor=active.principal,
                                                 query=q or None, tag_name=tag)
    target = f"/console/customers?{urlencode({'q': q, 'tagged': tagged, 'tag': tag.strip()})}"
    return RedirectResponse(target, status_code=303)
