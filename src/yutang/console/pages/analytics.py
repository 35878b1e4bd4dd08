"""Analytics in the console: layering (value tiers and lifecycle stages, by store and
channel), CLV and CAC by channel with the private-versus-paid comparison, the funnel, the
monthly cohorts, and the reviews (``analytics_reviews``).

Every figure is the analytics engine's result (``yutang.analytics.service``); the pages only
arrange it for tables and ECharts. Without an extract a page says so and offers the refresh.
An analyst sees all of it; no page shows a customer's name, phone or any other personal data.
"""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from yutang.analytics import service
from yutang.analytics.behaviour_sql import FUNNEL_STEPS
from yutang.analytics.channel_value import ValueOptions
from yutang.analytics.layering_sql import LIFECYCLE_STAGES, VALUE_TIERS
from yutang.console.i18n import translate
from yutang.console.pages import analytics_reviews
from yutang.console.pages.analytics_support import (
    page,
    parse_day,
    parse_kind,
    parse_whole,
    setup_of,
    yuan_number,
)
from yutang.console.security import ConsoleSession, ConsoleWrite, safe_next
from yutang.console.templating import locale_of
from yutang.kit.web import DbSession

router = APIRouter(prefix="/analytics")
router.include_router(analytics_reviews.router)

Text = Annotated[str | None, Query()]


@router.get("")
def analytics_home() -> Response:
    return RedirectResponse("/console/analytics/layers", status_code=303)


@router.post("/refresh")
def refresh(request: Request, session: DbSession, active: ConsoleWrite,
            as_of: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
    """``yutang analytics refresh`` from the console: the extract brought up to date and the
    layers written back, then back to the page that asked."""
    day = parse_day(as_of, "as_of", service.today_local())
    service.refresh(session, setup_of(request), principal=active.principal, as_of=day)
    return RedirectResponse(safe_next(back or "/console/analytics/layers"), status_code=303)


def _labels(locale: str, prefix: str, keys: tuple[str, ...]) -> list[str]:
    return [translate(locale, f"{prefix}{key}") for key in keys]


def _counts(frame: pl.DataFrame, kind: str, layers: tuple[str, ...]) -> list[int]:
    counted = dict(frame.filter(pl.col("layer_kind") == kind)
                   .select("layer", "customers").iter_rows())
    return [int(counted.get(layer, 0)) for layer in layers]


def _by_key(mix: pl.DataFrame, dimension: str, kind: str,
            layers: tuple[str, ...]) -> dict[str, Any]:
    rows = mix.filter((pl.col("dimension") == dimension) & (pl.col("layer_kind") == kind))
    keys = sorted({(row["key_id"] if row["key_id"] is not None else -1, row["key_code"] or "—")
                   for row in rows.iter_rows(named=True)})
    series = {layer: [0] * len(keys) for layer in layers}
    position = {key_id: index for index, (key_id, _) in enumerate(keys)}
    for row in rows.iter_rows(named=True):
        key_id = row["key_id"] if row["key_id"] is not None else -1
        series[row["layer"]][position[key_id]] = int(row["customers"])
    return {"keys": [code for _, code in keys], "series": [series[layer] for layer in layers]}


@router.get("/layers")
def layers_page(request: Request, active: ConsoleSession, as_of: Text = None) -> Response:
    def compute() -> dict[str, Any]:
        day = parse_day(as_of, "as_of", service.today_local())
        result = service.layering(setup_of(request), principal=active.principal, as_of=day)
        locale = locale_of(request)
        everyone = result.mix.filter(pl.col("dimension") == "all")
        tiers = _counts(everyone, "value_tier", VALUE_TIERS)
        stages = _counts(everyone, "lifecycle_stage", LIFECYCLE_STAGES)
        by_store = _by_key(result.mix, "store", "value_tier", VALUE_TIERS)
        by_channel = _by_key(result.mix, "channel", "value_tier", VALUE_TIERS)
        stages_by_store = _by_key(result.mix, "store", "lifecycle_stage", LIFECYCLE_STAGES)
        return {
            "as_of": day.isoformat(), "tiers": list(zip(VALUE_TIERS, tiers, strict=True)),
            "stages": list(zip(LIFECYCLE_STAGES, stages, strict=True)),
            "by_store": by_store, "by_channel": by_channel, "stages_by_store": stages_by_store,
            "value_tiers": VALUE_TIERS, "lifecycle_stages": LIFECYCLE_STAGES,
            "chart_data": {
                "page": "layers",
                "tierLabels": _labels(locale, "analytics.tier.", VALUE_TIERS),
                "stageLabels": _labels(locale, "analytics.stage.", LIFECYCLE_STAGES),
                "tiers": tiers, "stages": stages, "byStore": by_store,
                "byChannel": by_channel, "customers": translate(locale, "analytics.customers"),
            },
        }

    return page(request, active, "analytics_layers.html", "layers", compute)


@router.get("/value")
def value_page(request: Request, active: ConsoleSession, as_of: Text = None,
               months: Text = None, acquisition_months: Text = None) -> Response:
    def compute() -> dict[str, Any]:
        day = parse_day(as_of, "as_of", service.today_local())
        options = ValueOptions(
            months=parse_whole(months, "months", 12, low=1, high=120),
            acquisition_months=parse_whole(acquisition_months, "acquisition_months", 24,
                                           low=1, high=120))
        value = service.channel_values(setup_of(request), principal=active.principal,
                                       as_of=day, options=options)
        locale = locale_of(request)
        channels = value.by_channel.filter(
            (pl.col("new_customers") > 0) | (pl.col("spend_fen") > 0))
        domains = value.by_domain.filter(pl.col("spend_fen") > 0)
        return {
            "as_of": day.isoformat(), "options": options, "channels": channels.to_dicts(),
            "domains": value.by_domain.to_dicts(), "cohorts": value.by_cohort.to_dicts(),
            "purchases": value.purchases, "spend": value.spend,
            "model_error": value.model_error,
            "chart_data": {
                "page": "value",
                "channels": channels["channel_code"].to_list(),
                "cac": [yuan_number(fen) for fen in channels["cac_fen"].to_list()],
                "valuePerCustomer": [yuan_number(fen) for fen in
                                     channels["value_per_customer_fen"].to_list()],
                "domains": [translate(locale, f"channel.domain.{domain}")
                            for domain in domains["channel_domain"].to_list()],
                "returnedToDate": _rounded(domains["returned_to_date_per_100"].to_list()),
                "returnedWithClv": _rounded(domains["returned_with_clv_per_100"].to_list()),
                "labels": {name: translate(locale, f"analytics.value.{name}") for name in (
                    "cac", "value_per_customer", "returned_to_date", "returned_with_clv",
                    "spent")},
            },
        }

    return page(request, active, "analytics_value.html", "value", compute)


def _rounded(values: list[float | None]) -> list[float | None]:
    return [None if value is None else round(value, 2) for value in values]


@router.get("/funnel")
def funnel_page(request: Request, active: ConsoleSession, period: Text = None,
                date: Text = None, window_hours: Text = None) -> Response:
    def compute() -> dict[str, Any]:
        kind = parse_kind(period)
        day = parse_day(date, "date", service.today_local())
        setup = setup_of(request)
        hours = parse_whole(window_hours, "window_hours", setup.funnel_window_hours,
                            low=1, high=24 * 90)
        result = service.funnel(setup, principal=active.principal, kind=kind, day=day,
                                window_hours=hours)
        locale = locale_of(request)
        columns = ("viewed", "carted", "checked_out", "paid", "completed")
        headed = list(zip(columns, FUNNEL_STEPS, strict=True))
        rows = result.rows.to_dicts()
        everyone = next((row for row in rows if row["dimension"] == "all"),
                        dict.fromkeys(columns, 0))

        def by(dimension: str) -> dict[str, Any]:
            chosen = [row for row in rows if row["dimension"] == dimension]
            return {"keys": [row["key_code"] or "—" for row in chosen],
                    "series": [[int(row[column]) for row in chosen] for column in columns]}

        return {
            "kind": kind.value, "date": day.isoformat(), "period": result.period,
            "window_hours": result.window_hours, "rows": rows, "columns": headed,
            "all": everyone,
            "chart_data": {
                "page": "funnel",
                "steps": _labels(locale, "analytics.step.", FUNNEL_STEPS),
                "all": [int(everyone[column]) for column in columns],
                "byChannel": by("channel"), "byStore": by("store"),
            },
        }

    return page(request, active, "analytics_funnel.html", "funnel", compute)


@router.get("/cohorts")
def cohorts_page(request: Request, active: ConsoleSession, as_of: Text = None) -> Response:
    def compute() -> dict[str, Any]:
        day = parse_day(as_of, "as_of", service.today_local())
        rows = service.cohorts(setup_of(request), principal=active.principal, as_of=day)
        locale = locale_of(request)
        months = sorted({value.isoformat()[:7] for value in rows["acquired_month"].to_list()})
        longest = max(rows["month_offset"].to_list(), default=-1)
        offsets = list(range(int(longest) + 1))
        month_index = {month: index for index, month in enumerate(months)}
        retention, revenue = [], []
        for row in rows.iter_rows(named=True):
            cell = (int(row["month_offset"]), month_index[row["acquired_month"].isoformat()[:7]])
            retention.append([*cell, round(100.0 * row["retention"], 1)])
            revenue.append([*cell, yuan_number(row["cumulative_revenue_per_customer_fen"])])
        sizes = dict(rows.select("acquired_month", "customers").unique().iter_rows())
        return {
            "as_of": day.isoformat(), "rows": rows.to_dicts(),
            "sizes": sorted((month.isoformat()[:7], int(size)) for month, size in sizes.items()),
            "chart_data": {
                "page": "cohorts", "months": months, "offsets": offsets,
                "retention": retention, "revenue": revenue,
                "labels": {name: translate(locale, f"analytics.cohorts.{name}") for name in
                           ("retention", "revenue_per_customer", "month_offset")},
            },
        }

    return page(request, active, "analytics_cohorts.html", "cohorts", compute)
