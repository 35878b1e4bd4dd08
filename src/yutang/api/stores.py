from __future__ import annotations

from fastapi import APIRouter

from yutang.access import service as access_service
from yutang.access.roles import Permission
from yutang.api.deps import ApiPrincipal
from yutang.kit.web import DbSession
from yutang.org import service as org_service
from yutang.org.schemas import StoreCreate, StoreRead

router = APIRouter(tags=["stores"])


@router.post("/stores", status_code=201)
def create_store(data: StoreCreate, principal: ApiPrincipal, session: DbSession) -> StoreRead:
    store = access_service.create_store(session, actor=principal, data=data)
    return StoreRead.model_validate(store)


@router.get("/stores")
def list_stores(principal: ApiPrincipal, session: DbSession) -> list[StoreRead]:
    access_service.require(principal, Permission.STORES_READ)
    return [StoreRead.model_validate(store) for store in org_service.list_stores(session)]
