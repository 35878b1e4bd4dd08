"""Daily, weekly and monthly reviews (日复盘/周复盘/月复盘): each figure against the previous
period, and the tables behind them (new customers by channel, funnel, store leaderboard,
tier mix, CAC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from yutang.analytics.acquisition_sql import ACQUISITION_COST_BY_CHANNEL
from yutang.analytics.behaviour_sql import (
    FUNNEL,
    NEW_CUSTOMERS_BY_CHANNEL,
    SALES_CREDIT,
    SALES_SUMMARY,
)
from yutang.analytics.engines import MetricEngine
from yutang.analytics.layering import LayeringPolicy, compute_layers
from yutang.analytics.layering_sql import VALUE_TIERS
from yutang.analytics.periods import Period, PeriodKind, period_containing
from yutang.analytics.portable_sql import Parameter
from yutang.kit.clock import add_months, month_start

FIGURES: tuple[tuple[str, str], ...] = (
    ("pool_customers", "count"), ("new_customers", "count"), ("gmv_fen", "fen"),
    ("paid_orders", "count"), ("buyers", "count"), ("aov_fen", "fen"),
    ("repurchase_rate", "ratio"), ("order_frequency", "number"),
    ("returning_buyers", "count"), ("funnel_viewed", "count"), ("funnel_paid", "count"),
    ("funnel_conversion", "ratio"), ("spend_fen", "fen"), ("cac_fen", "fen"),
    *((f"tier_{tier}", "count") for tier in VALUE_TIERS),
)
"""(key, kind): kind says how to show it (fen as yuan, ratios as percentages)."""


@dataclass(frozen=True)
class Figure:
    key: str
    kind: str
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """Relative change against the previous period (None without a base)."""
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / abs(self.previous)


@dataclass(frozen=True)
class Review:
    kind: PeriodKind
    period: Period
    previous: Period
    store_code: str | None
    figures: list[Figure]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def _values(engine: MetricEngine, period: Period, store_id: int | None,
            policy: LayeringPolicy, window_hours: int) -> tuple[dict[str, float | None],
                                                                dict[str, pl.DataFrame]]:
    given: dict[str, Parameter] = {"start_day": period.start_day, "end_day": period.end_day,
                                   "store_id": store_id, "window_s": window_hours * 3600}
    summary = SALES_SUMMARY.run(engine, given).row(0, named=True)
    values: dict[str, float | None] = {key: summary.get(key) for key, _ in FIGURES
                                       if key in summary}
    funnel = FUNNEL.run(engine, given)
    scope = funnel.filter(pl.col("dimension") == "all") if store_id is None else \
        funnel.filter((pl.col("dimension") == "store") & (pl.col("key_id") == store_id))
    viewed = int(scope["viewed"].sum()) if scope.height else 0
    paid = int(scope["paid"].sum()) if scope.height else 0
    values |= {"funnel_viewed": viewed, "funnel_paid": paid,
               "funnel_conversion": paid / viewed if viewed else None}
    months = {"first_month": month_start(period.start),
              "end_month": add_months(month_start(period.end - timedelta(days=1)), 1)}
    costs = ACQUISITION_COST_BY_CHANNEL.run(engine, months)
    spend, new = int(costs["spend_fen"].sum()), int(costs["new_customers"].sum())
    values |= {"spend_fen": spend, "cac_fen": spend / new if new else None}
    layers = compute_layers(engine, policy=policy, as_of=period.end)
    if store_id is not None:
        layers = layers.filter(pl.col("store_id") == store_id)
    tiers = dict(layers.group_by("value_tier").len().iter_rows())
    values |= {f"tier_{tier}": int(tiers.get(tier, 0)) for tier in VALUE_TIERS}
    tables = {
        "new_customers_by_channel": NEW_CUSTOMERS_BY_CHANNEL.run(engine, given),
        "funnel": funnel,
        "store_leaderboard": SALES_CREDIT.run(engine, given)
        .filter(pl.col("dimension") == "owner_store").sort("gmv_fen", descending=True),
        "cac_by_channel": costs.filter(pl.col("spend_fen") > 0),
    }
    return values, tables


def build_review(
    engine: MetricEngine, *, kind: PeriodKind, day: date, store_id: int | None,
    store_code: str | None, policy: LayeringPolicy, funnel_window_hours: int = 72,
) -> Review:
    period = period_containing(kind, day)
    previous = period.previous()
    current, tables = _values(engine, period, store_id, policy, funnel_window_hours)
    before, _ = _values(engine, previous, store_id, policy, funnel_window_hours)
    figures = [Figure(key=key, kind=shown, current=_number(current.get(key)),
                      previous=_number(before.get(key))) for key, shown in FIGURES]
    return Review(kind=kind, period=period, previous=previous, store_code=store_code,
                  figures=figures, tables=tables)


def _number(value: object) -> float | None:
    return None if value is None else float(str(value))
