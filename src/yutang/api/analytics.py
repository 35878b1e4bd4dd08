"""Analytics for integrators: the same results the console shows, as JSON (money in fen).

``GET /api/v1/analytics/status`` says what the extract holds; every other path answers 409
``analytics_extract_missing`` until ``yutang analytics refresh`` (or
``POST /api/v1/analytics/refresh``) has written it. A store-scoped key sees its store's
layering, funnel and reviews; CLV and CAC by channel and cohorts need a chain-wide key.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.analytics import service
from yutang.analytics.channel_value import ValueOptions
from yutang.analytics.periods import Period, PeriodKind, parse_period_kind
from yutang.analytics.reviews import Review
from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.kit.web import DbSession

router = APIRouter(prefix="/analytics", tags=["analytics"])

BGNBD = ("r", "alpha", "a", "b")
GAMMA_GAMMA = ("p", "q", "v")
AsOf = Annotated[date | None, Query(description="Layers as of the start of this local day "
                                                "(default: today)")]


def setup_of(request: Request) -> service.AnalyticsSetup:
    return service.AnalyticsSetup.from_settings(request.app.state.settings)


def _kind(text: str) -> PeriodKind:
    return parse_period_kind(text)


@router.get("/status")
def status(request: Request, principal: ApiPrincipal) -> dict[str, Any]:
    service.store_scope(principal)
    current = service.extract_status(setup_of(request))
    if current is None:
        return {"extracted": False, "refreshed_at": None, "rows": {}}
    return {"extracted": True,
            "refreshed_at": current.refreshed_at.isoformat() if current.refreshed_at else None,
            "rows": current.rows}


@router.post("/refresh")
def refresh(request: Request, writer: ApiWriter, as_of: AsOf = None) -> dict[str, Any]:
    """Bring the extract up to date and write the layers back (chain-wide keys)."""
    setup = setup_of(request)
    day = as_of or service.today_local()

    def work(session: Session, principal: Principal) -> dict[str, Any]:
        result = service.refresh(session, setup, principal=principal, as_of=day)
        return {"as_of": day.isoformat(), "rows_added": result.extract.rows_added,
                "full": result.extract.full, "customers_layered": result.customers_layered,
                "layers_changed": result.layers_changed, "engine": result.engine}

    return writer(work)


@router.get("/layer-mix")
def layer_mix(request: Request, principal: ApiPrincipal, as_of: AsOf = None) -> dict[str, Any]:
    """Customers per value tier and lifecycle stage: in all, by store, by channel."""
    result = service.layering(setup_of(request), principal=principal,
                              as_of=as_of or service.today_local())
    return {"metric": "layer_mix", "as_of": result.as_of.isoformat(),
            "rows": service.frame_rows(result.mix)}


@router.get("/channel-value")
def channel_value(
    request: Request, principal: ApiPrincipal, as_of: AsOf = None,
    months: Annotated[int, Query(ge=1, le=120, description="CLV horizon")] = 12,
    monthly_discount: Annotated[float, Query(ge=0, le=1)] = 0.01,
    acquisition_months: Annotated[int, Query(ge=1, le=120)] = 24,
) -> dict[str, Any]:
    """CAC, CLV, CLV ÷ CAC and payback per channel; yuan returned per 100 yuan spent by
    channel domain (private, paid, public); CLV per acquisition cohort; the fitted models."""
    options = ValueOptions(months=months, monthly_discount=monthly_discount,
                           acquisition_months=acquisition_months)
    value = service.channel_values(setup_of(request), principal=principal,
                                   as_of=as_of or service.today_local(), options=options)
    fits: dict[str, Any] | None = None
    if value.purchases is not None and value.spend is not None:
        purchases, spend = value.purchases, value.spend
        fits = {
            "bgnbd": {name: getattr(purchases.parameters, name) for name in BGNBD},
            "bgnbd_standard_errors": {name: getattr(purchases.standard_errors, name)
                                      for name in BGNBD},
            "gamma_gamma": {name: getattr(spend.parameters, name) for name in GAMMA_GAMMA},
            "gamma_gamma_standard_errors": {name: getattr(spend.standard_errors, name)
                                            for name in GAMMA_GAMMA},
        }
    return {"metric": "channel_value", "as_of": value.as_of.isoformat(),
            "options": {"months": months, "monthly_discount": monthly_discount,
                        "acquisition_months": acquisition_months},
            "by_channel": service.frame_rows(value.by_channel),
            "by_domain": service.frame_rows(value.by_domain),
            "by_cohort": service.frame_rows(value.by_cohort), "models": fits,
            "model_error": value.model_error}


@router.get("/funnel")
def funnel(
    request: Request, principal: ApiPrincipal,
    period: Annotated[str, Query(description="daily, weekly or monthly")] = "monthly",
    day: Annotated[date | None, Query(alias="date", description="A day in the period")] = None,
    window_hours: Annotated[int | None, Query(ge=1, le=24 * 90)] = None,
) -> dict[str, Any]:
    """View → add to cart → checkout → paid → completed, in all, by channel and by store."""
    result = service.funnel(setup_of(request), principal=principal, kind=_kind(period),
                            day=day or service.today_local(), window_hours=window_hours)
    return {"metric": "funnel", "period": _period(result.period),
            "window_hours": result.window_hours, "rows": service.frame_rows(result.rows)}


@router.get("/cohorts")
def cohorts(request: Request, principal: ApiPrincipal, as_of: AsOf = None) -> dict[str, Any]:
    """Monthly acquisition cohorts: retention and cumulative revenue per customer."""
    day = as_of or service.today_local()
    rows = service.cohorts(setup_of(request), principal=principal, as_of=day)
    return {"metric": "cohorts", "as_of": day.isoformat(), "rows": service.frame_rows(rows)}


@router.get("/reviews/{kind}")
def review(
    kind: str, request: Request, principal: ApiPrincipal, session: DbSession,
    day: Annotated[date | None, Query(alias="date", description="A day in the period")] = None,
    store: Annotated[str | None, Query(description="A store's code")] = None,
) -> dict[str, Any]:
    """The daily, weekly or monthly review: each figure against the previous period."""
    period_kind = _kind(kind)
    if day is None:
        day = service.default_review_day(period_kind, service.today_local())
    result = service.review(session, setup_of(request), principal=principal, kind=period_kind,
                            day=day, store_code=store)
    return review_payload(result)


def review_payload(result: Review) -> dict[str, Any]:
    return {
        "metric": "review", "kind": result.kind.value, "period": _period(result.period),
        "previous": _period(result.previous), "store": result.store_code,
        "figures": [{"key": figure.key, "kind": figure.kind, "current": figure.current,
                     "previous": figure.previous, "change": figure.change}
                    for figure in result.figures],
        "tables": {name: service.frame_rows(table) for name, table in result.tables.items()},
    }


def _period(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(),
            "label": period.label}
