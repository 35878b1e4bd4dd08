"""Reviews in the console (日复盘/周复盘/月复盘): each figure against the previous period,
ECharts charts of the changes, new customers by channel and the store leaderboard, and the
Excel download written by the same writer as ``yutang report``."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from yutang.analytics import service
from yutang.analytics.review_files import shown
from yutang.analytics.review_fission import TABLE as FISSION_KPIS
from yutang.analytics.reviews import Review
from yutang.console.i18n import translate
from yutang.console.pages.analytics_support import (
    page,
    parse_day,
    parse_kind,
    setup_of,
    yuan_number,
)
from yutang.console.security import ConsoleSession
from yutang.console.templating import locale_of
from yutang.kit.web import DbSession

router = APIRouter()

Text = Annotated[str | None, Query()]

CHANGE_CHART_FIGURES = ("pool_customers", "new_customers", "gmv_fen", "paid_orders", "buyers",
                        "aov_fen", "repurchase_rate", "funnel_conversion", "cac_fen")
"""The figures whose change the chart shows (the tier counts stay in the table)."""


def _review(request: Request, session: DbSession, active: ConsoleSession, kind_text: str | None,
            day_text: str | None, store: str | None) -> Review:
    kind = parse_kind(kind_text)
    day = parse_day(day_text, "date",
                    service.default_review_day(kind, service.today_local()))
    return service.review(session, setup_of(request), principal=active.principal, kind=kind,
                          day=day, store_code=store or None)


def _table(frame: pl.DataFrame, key: str, value: str, *, money: bool) -> dict[str, Any]:
    keys = [str(code) if code is not None else "—" for code in frame[key].to_list()]
    values = frame[value].to_list()
    return {"keys": keys,
            "values": [yuan_number(item) for item in values] if money else values}


@router.get("/reviews")
def reviews_page(request: Request, session: DbSession, active: ConsoleSession,
                 kind: Text = None, date: Text = None, store: Text = None) -> Response:
    def compute() -> dict[str, Any]:
        review = _review(request, session, active, kind, date, store)
        locale = locale_of(request)
        changes = [figure for figure in review.figures if figure.key in CHANGE_CHART_FIGURES]
        leaderboard = review.tables["store_leaderboard"]
        return {
            "review": review, "kind": review.kind.value, "date": review.period.start.isoformat(),
            "store": review.store_code or "", "shown": shown,
            "new_by_channel": review.tables["new_customers_by_channel"].to_dicts(),
            "leaderboard": leaderboard.to_dicts(),
            "fission_kpis": review.tables[FISSION_KPIS].to_dicts(),
            "chart_data": {
                "page": "reviews",
                "changeKeys": [translate(locale, f"analytics.figure.{figure.key}")
                               for figure in changes],
                "changes": [None if figure.change is None else round(100 * figure.change, 1)
                            for figure in changes],
                "newByChannel": _table(review.tables["new_customers_by_channel"],
                                       "channel_code", "new_customers", money=False),
                "leaderboard": _table(leaderboard, "key_code", "gmv_fen", money=True),
                "labels": {"change": translate(locale, "analytics.reviews.change"),
                           "new": translate(locale, "analytics.figure.new_customers"),
                           "gmv": translate(locale, "analytics.figure.gmv_fen")},
            },
        }

    return page(request, active, "analytics_reviews.html", "reviews", compute)


@router.get("/reviews.xlsx")
def review_download(request: Request, session: DbSession, active: ConsoleSession,
                    kind: Text = None, date: Text = None, store: Text = None) -> Response:
    review = _review(request, session, active, kind, date, store)
    scope = f"-{review.store_code}" if review.store_code else ""
    filename = f"review-{review.kind.value}-{review.period.start.isoformat()}{scope}.xlsx"
    return Response(
        service.review_workbook(review),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

