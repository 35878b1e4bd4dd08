"""Results of the fission tasks and group-buy deals that campaigns promote, against those
campaigns' holdouts (public contract: paths, fields, error codes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from yutang.api.deps import ApiPrincipal
from yutang.campaigns import programme_results
from yutang.campaigns.programme_results_schemas import (
    FissionTaskResultsRead,
    GroupBuyDealResultsRead,
)
from yutang.kit.web import DbSession

router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "`fission_task_not_found`, `group_buy_deal_not_found`"},
}


@router.get("/fission-tasks/{task_id}/results", tags=["fission"], responses=_ERRORS)
def fission_task_results(task_id: int, principal: ApiPrincipal,
                         session: DbSession) -> FissionTaskResultsRead:
    """Customers the promoting campaigns treated against those they held out (once per
    customer, the first campaign's assignment): participation and invitees of the treated,
    conversions and GMV in the attribution window per arm, uplift with its 95% interval,
    incremental GMV, cost (rewards granted + staff time) and ROI; ``has_holdout`` false and
    the comparison null when no promoting campaign held anyone out."""
    return programme_results.fission_task_results(session, actor=principal, task_id=task_id)


@router.get("/group-buy-deals/{deal_id}/results", tags=["group-buy"], responses=_ERRORS)
def group_buy_deal_results(deal_id: int, principal: ApiPrincipal,
                           session: DbSession) -> GroupBuyDealResultsRead:
    """As for a fission task, with bait purchases and full-price upgrades per arm; cost is
    the bait discount of the treated customers' purchases in succeeded teams + staff time."""
    return programme_results.group_buy_deal_results(session, actor=principal,
                                                    deal_id=deal_id)
