from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from yutang.access import service as access_service
from yutang.api.deps import ApiPrincipal
from yutang.kit.web import DbSession

router = APIRouter(tags=["access"])


class WhoAmI(BaseModel):
    kind: str
    name: str
    role: str
    store_id: int | None
    permissions: list[str]


class AuditRead(BaseModel):
    at: datetime
    actor_kind: str
    actor_name: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str | None
    store_id: int | None
    reason: str | None
    details: dict[str, Any]


@router.get("/me")
def who_am_i(principal: ApiPrincipal) -> WhoAmI:
    from yutang.access.roles import ROLE_PERMISSIONS

    return WhoAmI(
        kind=principal.kind.value,
        name=principal.name,
        role=principal.role.value,
        store_id=principal.store_id,
        permissions=sorted(permission.value for permission in ROLE_PERMISSIONS[principal.role]),
    )


@router.get("/audit")
def audit_log(
    principal: ApiPrincipal,
    session: DbSession,
    entity_type: str | None = None,
    entity_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditRead]:
    entries = access_service.list_audit(
        session, actor=principal, entity_type=entity_type, entity_id=entity_id,
        limit=min(limit, 1000), offset=offset,
    )
    return [
        AuditRead(
            at=entry.at, actor_kind=entry.actor_kind, actor_name=entry.actor_name,
            actor_role=entry.actor_role, action=entry.action, entity_type=entry.entity_type,
            entity_id=entry.entity_id, store_id=entry.store_id, reason=entry.reason,
            details=entry.details,
        )
        for entry in entries
    ]
