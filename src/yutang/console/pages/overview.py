"""The overview: key numbers and three charts (pool size, new customers by channel, GMV)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from yutang.console.i18n import translate
from yutang.console.security import ConsoleSession
from yutang.console.templating import locale_of, render
from yutang.kit.web import DbSession
from yutang.pool import service as pool_service

router = APIRouter()


@router.get("/")
def overview(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    numbers = pool_service.overview(session, principal=active.principal)
    locale = locale_of(request)
    chart_data = {
        "months": numbers.months,
        "poolSize": [point.value for point in numbers.pool_size_by_month],
        "newByChannel": {
            channel: [point.value for point in points]
            for channel, points in numbers.new_customers_by_channel.items()
        },
        "gmvYuan": [round(point.value / 100, 2) for point in numbers.gmv_by_month],
        "labels": {
            "poolSize": translate(locale, "overview.series.pool_size"),
            "gmv": translate(locale, "overview.series.gmv"),
        },
    }
    return render(request, "overview.html", {"numbers": numbers, "chart_data": chart_data})
