"""Group-buy (拼团): deals, teams, joins, the bait-to-full conversion (public contract: paths,
fields and error codes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.fission import group_buy
from yutang.fission.group_buy_conversion import deal_conversion
from yutang.fission.group_buy_models import TeamStatus
from yutang.fission.group_buy_schemas import (
    ConversionRead,
    GroupBuyDealCreate,
    GroupBuyDealRead,
    TeamJoin,
    TeamOpen,
    TeamRead,
)
from yutang.fission.store_kpis import StoreKpiBoard, leaderboard, parse_period
from yutang.kit.web import DbSession

router = APIRouter(tags=["group-buy"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "`group_buy_deal_not_found`, `group_buy_team_not_found`, "
                         "`customer_not_found`"},
    409: {"description": "`team_full`, `team_closed`, `deal_closed`, `deal_sold_out`, "
                         "`already_in_team`"},
}


@router.post("/group-buy-deals", status_code=201, responses=_ERRORS)
def create_deal(data: GroupBuyDealCreate, writer: ApiWriter) -> GroupBuyDealRead:
    """A deal: the product (``product_sku``), its bait price against its list price (fen),
    the team size, the time a team has to fill, and the stock of seats."""
    return writer(lambda session, principal: group_buy.present_deal(
        group_buy.create_deal(session, actor=principal, data=data)))


@router.get("/group-buy-deals")
def list_deals(principal: ApiPrincipal, session: DbSession) -> list[GroupBuyDealRead]:
    return [group_buy.present_deal(deal)
            for deal in group_buy.list_deals(session, actor=principal)]


@router.get("/group-buy-deals/{deal_id}", responses=_ERRORS)
def get_deal(deal_id: int, principal: ApiPrincipal, session: DbSession) -> GroupBuyDealRead:
    return group_buy.deal_read(session, actor=principal, deal_id=deal_id)


@router.post("/group-buy-deals/{deal_id}/teams", status_code=201, responses=_ERRORS)
def open_team(deal_id: int, data: TeamOpen, writer: ApiWriter) -> TeamRead:
    """The leader opens a team and pays the bait price (their order is seat 1)."""
    def work(session: Session, principal: Principal) -> TeamRead:
        team = group_buy.open_team(session, actor=principal, deal_id=deal_id,
                                   leader_customer_id=data.leader_customer_id)
        return group_buy.present_teams(session, [team])[0]

    return writer(work)


@router.get("/group-buy-deals/{deal_id}/teams", responses=_ERRORS)
def list_teams(deal_id: int, principal: ApiPrincipal, session: DbSession,
               status: TeamStatus | None = None, limit: int = 100,
               offset: int = 0) -> list[TeamRead]:
    return group_buy.teams_of_deal(session, actor=principal, deal_id=deal_id, status=status,
                                   limit=max(1, min(limit, 200)), offset=max(0, offset))


@router.get("/group-buy-deals/{deal_id}/conversion", responses=_ERRORS)
def conversion(deal_id: int, principal: ApiPrincipal, session: DbSession) -> ConversionRead:
    """Bait buyers of the deal's succeeded teams and who of them later bought at full price
    (the deal's product at list price or an order above the deal's threshold), how soon."""
    return deal_conversion(session, actor=principal, deal_id=deal_id)


@router.post("/group-buy-teams/{team_id}/members", status_code=201, responses=_ERRORS)
def join_team(team_id: int, data: TeamJoin, writer: ApiWriter) -> TeamRead:
    """Take a seat and pay the bait price: 409 ``team_full`` when every seat is taken,
    ``team_closed`` when the team failed or its time ran out."""
    def work(session: Session, principal: Principal) -> TeamRead:
        team = group_buy.join_team(session, actor=principal, team_id=team_id,
                                   customer_id=data.customer_id)
        return group_buy.present_teams(session, [team])[0]

    return writer(work)


@router.get("/group-buy-teams/{team_id}", responses=_ERRORS)
def get_team(team_id: int, principal: ApiPrincipal, session: DbSession) -> TeamRead:
    """``{id, deal_id, status, expires_at, members: [{customer_id, joined_at, order_id}]}``."""
    return group_buy.team_read(session, actor=principal, team_id=team_id)


@router.get("/store-kpis", tags=["store-kpis"])
def store_kpis(principal: ApiPrincipal, session: DbSession, date: str,
               period: str = "week") -> StoreKpiBoard:
    """The stores' fission KPIs for the ``period`` (``day``, ``week`` or ``month``) holding
    ``date`` (YYYY-MM-DD, Asia/Shanghai), ranked: groups created, active groups, new fans in
    active groups, group-buy leaders, bait buyers and how many bought at full price since."""
    return leaderboard(session, actor=principal, period=parse_period(period, date))
