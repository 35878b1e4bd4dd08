"""Channels with their monthly spend, and channel codes (渠道活码) with scans and adds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.access import service as access_service
from yutang.access.roles import Permission
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.errors import InvalidInput
from yutang.kit.money import parse_yuan
from yutang.kit.web import DbSession
from yutang.org import service as org_service
from yutang.pool import channel_repository, channels
from yutang.pool import repository as pool_repository
from yutang.pool.channel_schemas import ChannelCodeCreate, ChannelCreate, SpendIn
from yutang.pool.models import ChannelDomain, ChannelKind

router = APIRouter()


def _links(request: Request) -> channels.CodeLinks:
    return channels.CodeLinks(str(request.base_url).rstrip("/"))


def _invalid(error: ValidationError) -> InvalidInput:
    fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
    return InvalidInput("the form is not valid", fields=fields)


@router.get("/channels")
def channel_list(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    access_service.require(active.principal, Permission.STORES_READ)
    stores = {store.id: store.code for store in org_service.list_stores(session)}
    all_channels = pool_repository.all_channels(session)
    names = {channel.id: channel.code for channel in all_channels}
    spend = [(names[row.channel_id], row.month.strftime("%Y-%m"), row.amount_fen)
             for row in channel_repository.spend_rows(session)[:60]]
    return render(request, "channels.html", {
        "channels": [channels.present_channel(channel, stores) for channel in all_channels],
        "spend": spend, "kinds": list(ChannelKind), "domains": list(ChannelDomain),
    })


@router.post("/channels")
def create_channel(
    session: DbSession, active: ConsoleWrite,
    code: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "", domain: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = ChannelCreate.model_validate(
            {"code": code, "name": name, "kind": kind, "domain": domain})
    except ValidationError as error:
        raise _invalid(error) from error
    channels.create_channel(session, actor=active.principal, data=data)
    return RedirectResponse("/console/channels", status_code=303)


@router.post("/channels/spend")
def record_spend(
    session: DbSession, active: ConsoleWrite, channel: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "", amount_yuan: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = SpendIn(period=period, amount_fen=parse_yuan(amount_yuan or "x"))
    except ValidationError as error:
        raise _invalid(error) from error
    channels.record_spend(session, actor=active.principal, channel_code=channel, data=data)
    return RedirectResponse("/console/channels", status_code=303)


@router.get("/channel-codes")
def code_list(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    codes = channels.list_codes(session, actor=active.principal)
    stores = org_service.list_stores(session)
    if active.principal.is_store_scoped:
        stores = [store for store in stores if store.id == active.principal.store_id]
    return render(request, "channel_codes.html", {
        "codes": channels.present_codes(session, codes, _links(request)),
        "channels": pool_repository.all_channels(session), "stores": stores,
    })


@router.post("/channel-codes")
def create_code(
    session: DbSession, active: ConsoleWrite,
    channel_code: Annotated[str, Form()] = "", store_code: Annotated[str, Form()] = "",
    staff_username: Annotated[str, Form()] = "", campaign: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = ChannelCodeCreate(channel_code=channel_code, store_code=store_code,
                                 staff_username=staff_username or None,
                                 campaign=campaign or None)
    except ValidationError as error:
        raise _invalid(error) from error
    channels.create_code(session, actor=active.principal, data=data)
    return RedirectResponse("/console/channel-codes", status_code=303)


@router.get("/channel-codes/{code_id}/qr.svg")
def code_image(request: Request, session: DbSession, active: ConsoleSession,
               code_id: int) -> Response:
    code = channels.get_code(session, actor=active.principal, code_id=code_id)
    image = channels.qr_image(_links(request).landing(code), "svg")
    return Response(image, media_type="image/svg+xml")
