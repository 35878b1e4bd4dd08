"""Bargaining (砍价): start a bargain, friends' helps, read it (public contract: paths, fields
and error codes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.fission import bargain as bargains
from yutang.fission.bargain_models import BargainStatus
from yutang.fission.bargain_schemas import BargainHelpIn, BargainRead, BargainStart, HelpResult
from yutang.kit.web import DbSession

router = APIRouter(tags=["bargains"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "`bargain_not_found`, `customer_not_found`"},
    409: {"description": "`already_helped`, `bargain_expired`, `bargain_completed`, "
                         "`cannot_help_own_bargain`"},
}


@router.post("/bargains", status_code=201, responses=_ERRORS)
def start_bargain(data: BargainStart, writer: ApiWriter) -> BargainRead:
    """A customer starts a bargain on a product: from ``list_price_fen`` down to
    ``floor_price_fen`` in ``helps_needed`` friends' helps within ``time_limit_minutes``."""
    def work(session: Session, principal: Principal) -> BargainRead:
        return bargains.present(session, bargains.start(session, actor=principal, data=data))

    return writer(work)


@router.get("/bargains")
def list_bargains(principal: ApiPrincipal, session: DbSession,
                  status: BargainStatus | None = None, limit: int = 50,
                  offset: int = 0) -> list[BargainRead]:
    return bargains.list_bargains(session, actor=principal, status=status,
                                  limit=max(1, min(limit, 200)), offset=max(0, offset))


@router.get("/bargains/{bargain_id}", responses=_ERRORS)
def get_bargain(bargain_id: int, principal: ApiPrincipal, session: DbSession) -> BargainRead:
    return bargains.bargain_read(session, actor=principal, bargain_id=bargain_id)


@router.post("/bargains/{bargain_id}/helps", status_code=201, responses=_ERRORS)
def help_bargain(bargain_id: int, data: BargainHelpIn, writer: ApiWriter) -> HelpResult:
    """A friend's help: the cut it made (``cut_fen``) and the price now. One help per friend
    (409 ``already_helped``); 409 ``bargain_expired`` after the time limit."""
    return writer(lambda session, principal: bargains.help_bargain(
        session, actor=principal, bargain_id=bargain_id, customer_id=data.customer_id))
