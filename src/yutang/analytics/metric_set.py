"""The whole metric set over one as-of date: what the engines must agree on."""

from __future__ import annotations

from datetime import date

import polars as pl

from yutang.analytics.engines import MetricEngine
from yutang.analytics.layering import LayeringPolicy
from yutang.analytics.metrics import METRICS
from yutang.analytics.periods import PeriodKind, period_containing
from yutang.analytics.portable_sql import Parameter
from yutang.kit.clock import add_months, month_start


def metric_set_parameters(
    *, as_of: date, policy: LayeringPolicy, months: int = 24, funnel_window_hours: int = 72,
    store_id: int | None = None,
) -> dict[str, Parameter]:
    """Layering as of ``as_of``; periods: the month before it; acquisition: ``months`` back."""
    period = period_containing(PeriodKind.MONTHLY, as_of).previous()
    end_month = month_start(as_of)
    return {
        **policy.parameters(as_of),
        "start_day": period.start_day, "end_day": period.end_day,
        "window_s": funnel_window_hours * 3600, "store_id": store_id,
        "first_month": add_months(end_month, -months), "end_month": end_month,
    }


def run_metric_set(
    engine: MetricEngine, parameters: dict[str, Parameter]
) -> dict[str, pl.DataFrame]:
    results: dict[str, pl.DataFrame] = {}
    for metric in METRICS:
        if metric.name == "layers":
            metric.materialize(engine, parameters)
            results[metric.name] = metric.read(engine)
        else:
            results[metric.name] = metric.run(engine, parameters)
    return results
