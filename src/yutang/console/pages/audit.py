"""The audit log: every login, reveal, export and change, newest first (auditors, owners)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from yutang.access import service as access_service
from yutang.console.security import ConsoleSession
from yutang.console.templating import render
from yutang.kit.web import DbSession

router = APIRouter()

PAGE_SIZE = 50


@router.get("/audit")
def audit_log(
    request: Request,
    session: DbSession,
    active: ConsoleSession,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    entries = access_service.list_audit(
        session, actor=active.principal, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "audit.html",
        {
            "entries": entries[:PAGE_SIZE],
            "page": page,
            "has_next": len(entries) > PAGE_SIZE,
        },
    )
