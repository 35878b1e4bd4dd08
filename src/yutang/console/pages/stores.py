"""Stores: the list, and opening a new one (HQ roles)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.access import service as access_service
from yutang.access.roles import Permission
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.web import DbSession
from yutang.org import service as org_service
from yutang.org.errors import InvalidStore
from yutang.org.schemas import StoreCreate

router = APIRouter()


@router.get("/stores")
def store_list(
    request: Request, session: DbSession, active: ConsoleSession, created: str | None = None
) -> Response:
    access_service.require(active.principal, Permission.STORES_READ)
    return render(
        request,
        "stores.html",
        {"stores": org_service.list_stores(session), "created": created},
    )


@router.post("/stores")
def create_store(
    session: DbSession,
    active: ConsoleWrite,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = StoreCreate(code=code, name=name, city=city)
    except ValidationError as error:
        fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
        raise InvalidStore("the store details are not valid", fields=fields) from error
    store = access_service.create_store(session, actor=active.principal, data=data)
    return RedirectResponse(f"/console/stores?created={store.code}", status_code=303)
