"""Channels, their spend and channel codes (public contract: paths and fields)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.kit.web import DbSession
from yutang.org import service as org_service
from yutang.pool import channels
from yutang.pool import repository as pool_repository
from yutang.pool.channel_schemas import (
    ChannelCodeCreate,
    ChannelCodeRead,
    ChannelCreate,
    ChannelRead,
    SpendIn,
    SpendRead,
)

router = APIRouter(tags=["channels"])


def links(request: Request) -> channels.CodeLinks:
    return channels.CodeLinks(str(request.base_url).rstrip("/"))


def _store_codes(session: Session) -> dict[int, str]:
    return {store.id: store.code for store in org_service.list_stores(session)}


@router.get("/channels")
def list_channels(principal: ApiPrincipal, session: DbSession) -> list[ChannelRead]:
    del principal  # any key may read the channel list
    stores = _store_codes(session)
    return [channels.present_channel(channel, stores)
            for channel in pool_repository.all_channels(session)]


@router.post("/channels", status_code=201)
def create_channel(data: ChannelCreate, writer: ApiWriter) -> ChannelRead:
    def create(session: Session, principal: Principal) -> ChannelRead:
        channel = channels.create_channel(session, actor=principal, data=data)
        return channels.present_channel(channel, _store_codes(session))

    return writer(create)


@router.post("/channels/{code}/spend")
def record_spend(code: str, data: SpendIn, writer: ApiWriter) -> SpendRead:
    """What the channel cost in a month (fen); a later call for the month replaces it."""
    return writer(lambda session, principal: channels.record_spend(
        session, actor=principal, channel_code=code, data=data))


@router.post("/channel-codes", status_code=201)
def create_code(data: ChannelCodeCreate, request: Request, writer: ApiWriter) -> ChannelCodeRead:
    """A channel code (渠道活码): its ``state``, link and QR image."""
    def create(session: Session, principal: Principal) -> ChannelCodeRead:
        code = channels.create_code(session, actor=principal, data=data)
        return channels.present_codes(session, [code], links(request))[0]

    return writer(create)


@router.get("/channel-codes")
def list_codes(request: Request, principal: ApiPrincipal,
               session: DbSession) -> list[ChannelCodeRead]:
    codes = channels.list_codes(session, actor=principal)
    return channels.present_codes(session, codes, links(request))


@router.get("/channel-codes/{code_id}/qr.{kind}")
def code_image(code_id: int, kind: str, request: Request, principal: ApiPrincipal,
               session: DbSession) -> Response:
    if kind not in ("png", "svg"):
        return Response(status_code=404)
    code = channels.get_code(session, actor=principal, code_id=code_id)
    image = channels.qr_image(links(request).landing(code), kind)
    media_type = "image/png" if kind == "png" else "image/svg+xml"
    return Response(image, media_type=media_type)
