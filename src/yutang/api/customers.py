from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.kit.pagination import PageRequest
from yutang.kit.web import DbSession, csv_download
from yutang.pool import customer_actions, customer_upsert
from yutang.pool import service as pool_service
from yutang.pool.ingest_schemas import CustomerIn
from yutang.pool.schemas import (
    CustomerDetail,
    CustomerPage,
    CustomerRead,
    DetachRequest,
    DetachResult,
    RevealRequest,
    TagRequest,
    TagResult,
)

router = APIRouter(tags=["customers"])


@router.get("/customers")
def list_customers(
    principal: ApiPrincipal,
    session: DbSession,
    q: str | None = None,
    phone: str | None = None,
    identity_kind: str | None = None,
    identity_value: str | None = None,
    identity_scope: str = "",
    page: int = Query(1, ge=1),
    size: int = Query(20, ge=1, le=200),
) -> CustomerPage:
    """Search by ``q`` (name, phone or ``#id``), ``phone``, or one identifier
    (``identity_kind`` + ``identity_value`` [+ ``identity_scope`` for openids])."""
    return pool_service.search_customers(
        session, principal=principal, query=q, phone=phone, identity_kind=identity_kind,
        identity_value=identity_value, identity_scope=identity_scope,
        page=PageRequest(page, size),
    )


@router.post("/customers", status_code=201, responses={200: {"model": CustomerRead}})
def upsert_customer(
    data: CustomerIn, request: Request, response: Response, writer: ApiWriter
) -> CustomerRead:
    """Create or find the customer these identifiers name (merging customers they join);
    201 when created, 200 when it existed."""
    policy = request.app.state.oneid_policy

    def upsert(session: Session, principal: Principal) -> tuple[bool, CustomerRead]:
        result = customer_upsert.upsert_customer(session, actor=principal, data=data,
                                                 policy=policy)
        return result.created, pool_service.present_for(
            session, principal=principal, customer=result.customer)

    created, customer = writer(upsert)
    if not created:
        response.status_code = 200
    return customer


@router.get("/customers/export")
def export_customers(
    principal: ApiPrincipal, session: DbSession, reason: str, q: str | None = None
) -> Response:
    """A masked CSV of the customers the key may see; the export is audited with its reason."""
    rows = pool_service.export_customers(session, principal=principal, reason=reason, query=q)
    return csv_download(rows, "customers.csv")


@router.get("/customers/{customer_id}")
def get_customer(customer_id: int, principal: ApiPrincipal, session: DbSession) -> CustomerDetail:
    return pool_service.customer_detail(session, principal=principal, customer_id=customer_id)


@router.post("/customers/{customer_id}/reveal")
def reveal_customer(
    customer_id: int, body: RevealRequest, principal: ApiPrincipal, session: DbSession
) -> CustomerDetail:
    """Personal data in clear, for a role that may see it; audited with the reason given."""
    return pool_service.customer_detail(
        session, principal=principal, customer_id=customer_id, reveal_reason=body.reason
    )


@router.post("/customers/{customer_id}/identities/{identity_id}/detach")
def detach_identity(
    customer_id: int, identity_id: int, body: DetachRequest, writer: ApiWriter
) -> DetachResult:
    """Unmerge: the identity stops linking, and the customer splits around it."""
    return DetachResult(customer_ids=writer(lambda session, principal: (
        customer_actions.detach_identity(session, actor=principal, customer_id=customer_id,
                                         identity_id=identity_id, reason=body.reason))))


@router.post("/customers/{customer_id}/tags")
def tag_customer(customer_id: int, body: TagRequest, writer: ApiWriter) -> TagResult:
    tagged = writer(lambda session, principal: customer_actions.tag_customers(
        session, actor=principal, customer_ids=[customer_id], tag_name=body.tag))
    return TagResult(tag=body.tag.strip(), tagged=tagged)
