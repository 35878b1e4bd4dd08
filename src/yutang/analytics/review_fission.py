"""The store fission leaderboard in the reviews (seed 002: store managers answer for fission
KPIs): groups created and active, new fans through active groups, group-buy leaders and bait
buyers converted to full orders, per store, for the review's period.

These figures live in the operational database (groups, teams), not in the analytics
extracts, so they are read with the session and added to the review the engine built."""

from __future__ import annotations

import dataclasses

import polars as pl
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.analytics.periods import PeriodKind
from yutang.analytics.reviews import Review
from yutang.fission import store_kpis

TABLE = "store_fission_kpis"
_KPI_PERIOD = {PeriodKind.DAILY: store_kpis.KpiPeriod.DAY,
               PeriodKind.WEEKLY: store_kpis.KpiPeriod.WEEK,
               PeriodKind.MONTHLY: store_kpis.KpiPeriod.MONTH}
COLUMNS = ("rank", "store_code", "store_name", "groups_created", "active_groups",
           "dead_groups", "new_fans_in_active_groups", "group_buy_leaders",
           "group_buy_teams_succeeded", "bait_buyers", "bait_buyers_converted",
           "bait_conversion_rate")


def with_store_fission_kpis(session: Session, review: Review, *, actor: Principal) -> Review:
    """The review with its ``store_fission_kpis`` table (only its store's row for a store
    review)."""
    period = store_kpis.PeriodRange(kind=_KPI_PERIOD[review.kind],
                                    first_day=review.period.start, end_day=review.period.end)
    board = store_kpis.leaderboard(session, actor=actor, period=period)
    rows = [row for row in board.stores
            if review.store_code is None or row.store_code == review.store_code]
    table = pl.DataFrame([{name: getattr(row, name) for name in COLUMNS} for row in rows],
                         schema={name: _dtype(name) for name in COLUMNS}, orient="row")
    return dataclasses.replace(review, tables={**review.tables, TABLE: table})


def _dtype(name: str) -> type[pl.DataType]:
    if name in ("store_code", "store_name"):
        return pl.String
    if name == "bait_conversion_rate":
        return pl.Float64
    return pl.Int64
