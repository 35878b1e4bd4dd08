"""Group-buy, bargains and the store fission leaderboard in the console: deals (stock, sold,
teams by status), a deal's teams, its bait-to-full conversion and its results against the
holdout of the campaigns promoting it, bargains, and the store KPI leaderboard by day, week
or month. Writes go through the same use cases as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.access.roles import Permission
from yutang.campaigns import programme_results
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.fission import bargain as bargains
from yutang.fission import group_buy
from yutang.fission import group_buy_repository as deals_repository
from yutang.fission.bargain_models import BargainStatus
from yutang.fission.group_buy_conversion import deal_conversion
from yutang.fission.group_buy_models import TeamStatus
from yutang.fission.group_buy_schemas import GroupBuyDealCreate
from yutang.fission.store_kpis import KpiPeriod, leaderboard, parse_period
from yutang.kit.clock import to_local, utcnow
from yutang.kit.errors import InvalidInput
from yutang.kit.money import parse_yuan
from yutang.kit.web import DbSession

router = APIRouter()

TEAM_STATUSES = tuple(status.value for status in TeamStatus)
BARGAIN_STATUSES = tuple(status.value for status in BargainStatus)


def _number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as error:
        raise InvalidInput("not a whole number", value=text) from error


@router.get("/group-buy")
def deals(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    rows = group_buy.list_deals(session, actor=active.principal)
    counts = deals_repository.team_counts_by_deal(session, [deal.id for deal in rows])
    return render(request, "group_buy_deals.html", {
        "deals": [group_buy.present_deal(deal) for deal in rows], "counts": counts,
        "statuses": TEAM_STATUSES,
    })


@router.post("/group-buy/deals")
def create_deal(
    request: Request, session: DbSession, active: ConsoleWrite,
    name: Annotated[str, Form()] = "", product_sku: Annotated[str, Form()] = "",
    bait_price_yuan: Annotated[str, Form()] = "", list_price_yuan: Annotated[str, Form()] = "",
    team_size: Annotated[str, Form()] = "3", time_limit_minutes: Annotated[str, Form()] = "1440",
    stock: Annotated[str, Form()] = "", store: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = GroupBuyDealCreate.model_validate({
            "name": name, "product_sku": product_sku,
            "bait_price_fen": parse_yuan(bait_price_yuan),
            "list_price_fen": parse_yuan(list_price_yuan), "team_size": _number(team_size),
            "time_limit_minutes": _number(time_limit_minutes), "stock": _number(stock),
            "store": store.strip() or None,
        })
    except ValidationError as error:
        fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
        raise InvalidInput("the form is not valid", fields=fields) from error
    deal = group_buy.create_deal(session, actor=active.principal, data=data)
    return RedirectResponse(f"/console/group-buy/deals/{deal.id}", status_code=303)


@router.get("/group-buy/deals/{deal_id}")
def deal_page(request: Request, session: DbSession, active: ConsoleSession, deal_id: int,
              status: str = "") -> Response:
    principal = active.principal
    chosen = TeamStatus(status) if status in TEAM_STATUSES else None
    deal = group_buy.deal_read(session, actor=principal, deal_id=deal_id)
    conversion = (deal_conversion(session, actor=principal, deal_id=deal_id, limit=100)
                  if principal.can(Permission.ANALYTICS_READ) else None)
    return render(request, "group_buy_deal.html", {
        "deal": deal, "status": chosen.value if chosen else "", "statuses": TEAM_STATUSES,
        "teams": group_buy.teams_of_deal(session, actor=principal, deal_id=deal_id,
                                         status=chosen, limit=100),
        "conversion": conversion,
        "results": programme_results.group_buy_deal_results(session, actor=principal,
                                                            deal_id=deal_id)
        if principal.can(Permission.ANALYTICS_READ) else None,
    })


@router.get("/group-buy/bargains")
def bargain_list(request: Request, session: DbSession, active: ConsoleSession,
                 status: str = "") -> Response:
    chosen = BargainStatus(status) if status in BARGAIN_STATUSES else None
    return render(request, "bargains.html", {
        "bargains": bargains.list_bargains(session, actor=active.principal, status=chosen,
                                           limit=100),
        "status": chosen.value if chosen else "", "statuses": BARGAIN_STATUSES,
    })


@router.get("/store-kpis")
def store_kpis(request: Request, session: DbSession, active: ConsoleSession,
               period: str = "week", day: str = "") -> Response:
    chosen = period if period in tuple(kind.value for kind in KpiPeriod) else "week"
    local_today = to_local(utcnow()).date()
    shown = parse_period(chosen, day or local_today.isoformat())
    board = leaderboard(session, actor=active.principal, period=shown)
    return render(request, "store_kpis.html", {
        "board": board, "period": chosen, "day": shown.first_day.isoformat(),
        "periods": tuple(kind.value for kind in KpiPeriod),
        "chart": {"stores": [row.store_name for row in board.stores],
                  "new_fans": [row.new_fans_in_active_groups for row in board.stores],
                  "active_groups": [row.active_groups for row in board.stores]},
    })
