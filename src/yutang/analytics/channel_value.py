"""CLV per customer, channel and acquisition cohort; CAC, CLV ÷ CAC, payback and the
seed-003 comparison (private domain against paid channels, yuan returned per 100 spent).

The per-customer transaction summary runs on the engine (``clv_summary``); the models are the
package's BG/NBD and Gamma-Gamma (``clv_tool.clv_from_summary``), time in weeks. A
purchase for the models is a paid order before the as-of day, at its exact time (the planted
truth's definition; see ``CLV_SUMMARY``); revenue to date counts paid orders not refunded
before it. Predicted CLV is the
discounted spend of the next ``months`` months. Money is in fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from yutang.analytics.acquisition_sql import (
    ACQUISITION_COST_BY_CHANNEL,
    CHANNEL_MONTH_REVENUE,
    CLV_SUMMARY,
)
from yutang.analytics.clv_models import BetaGeoFit, GammaGammaFit
from yutang.analytics.clv_tool import ClvOptions, clv_from_summary
from yutang.analytics.engines import MetricEngine
from yutang.analytics.errors import (
    ModelDidNotConverge,
    NoRepeatPurchases,
    SpendMeanUndefined,
    TooFewCustomers,
)
from yutang.analytics.periods import as_of_parameters, day_number
from yutang.analytics.transactions import CustomerSummary, TimeUnit
from yutang.kit.clock import add_months, month_start


@dataclass(frozen=True)
class ValueOptions:
    months: int = 12
    monthly_discount: float = 0.01
    acquisition_months: int = 24
    """CAC and ROI over the customers acquired (and the spend) of this many months."""


@dataclass(frozen=True)
class ChannelValue:
    customers: pl.DataFrame
    """Per live customer who bought: the summary, P(alive), expected purchases, CLV."""
    by_channel: pl.DataFrame
    by_cohort: pl.DataFrame
    by_domain: pl.DataFrame
    purchases: BetaGeoFit | None
    """None when the models cannot be fitted on this data (``model_error`` says why): CAC,
    payback and revenue to date stand; predicted CLV is null."""
    spend: GammaGammaFit | None
    as_of: date
    model_error: str | None = None


def customer_values(engine: MetricEngine, *, as_of: date, options: ValueOptions) -> tuple[
        pl.DataFrame, BetaGeoFit, GammaGammaFit]:
    summary = CLV_SUMMARY.run(engine, as_of_parameters(as_of))
    frequency = summary.get_column("frequency").to_numpy().astype(np.int64)
    repeat = summary.get_column("repeat_fen").to_numpy().astype(np.float64)
    customer_summary = CustomerSummary(
        customer_id=summary.get_column("customer_id"),
        frequency=frequency,
        recency_days=summary.get_column("recency_days").to_numpy().astype(np.float64),
        age_days=summary.get_column("age_days").to_numpy().astype(np.float64),
        monetary_value=np.where(frequency > 0, repeat / np.maximum(frequency, 1), 0.0),
        observation_end=as_of,
    )
    result = clv_from_summary(customer_summary, ClvOptions(
        observation_end=as_of, unit=TimeUnit.WEEK, predict_periods=options.months * 4.345,
        clv_months=options.months, monthly_discount=options.monthly_discount))
    table = summary.select("customer_id", "store_id", "acquisition_channel_id",
                           "acquired_month", "revenue_fen").with_columns(
        result.table.select("frequency", "recency", "T", "monetary_value", "p_alive",
                            "expected_purchases", "clv").rename({"clv": "clv_fen"}))
    return table, result.purchases, result.spend


UNFITTABLE = (ModelDidNotConverge, NoRepeatPurchases, SpendMeanUndefined, TooFewCustomers)
"""Data on which BG/NBD or Gamma-Gamma has no estimate (a new merchant, a tiny store)."""


def _without_models(engine: MetricEngine, as_of: date) -> pl.DataFrame:
    summary = CLV_SUMMARY.run(engine, as_of_parameters(as_of))
    return summary.select("customer_id", "store_id", "acquisition_channel_id",
                          "acquired_month", "revenue_fen").with_columns(
        pl.lit(None, pl.Float64).alias(name) for name in (
            "p_alive", "expected_purchases", "clv_fen"))


def channel_value(engine: MetricEngine, *, as_of: date, options: ValueOptions) -> ChannelValue:
    purchases: BetaGeoFit | None
    spend: GammaGammaFit | None
    model_error: str | None = None
    try:
        customers, purchases, spend = customer_values(engine, as_of=as_of, options=options)
    except UNFITTABLE as error:
        customers, purchases, spend = _without_models(engine, as_of), None, None
        model_error = error.code
    end_month = month_start(as_of)
    first_month = add_months(end_month, -options.acquisition_months)
    costs = ACQUISITION_COST_BY_CHANNEL.run(
        engine, {"first_month": first_month, "end_month": end_month})
    in_window = customers.filter(pl.col("acquired_month") >= first_month,
                                 pl.col("acquired_month") < end_month)
    value = in_window.group_by("acquisition_channel_id").agg(
        pl.len().alias("buyers"), pl.col("revenue_fen").sum().alias("revenue_to_date_fen"),
        _clv_sum(),
    ).rename({"acquisition_channel_id": "channel_id"})
    payback = payback_months(engine, as_of=as_of, costs=costs)
    by_channel = (
        costs.join(value, on="channel_id", how="left").join(payback, on="channel_id", how="left")
        .with_columns(pl.col("buyers", "revenue_to_date_fen").fill_null(0),
                      pl.col("predicted_clv_fen").fill_null(0.0) if model_error is None
                      else pl.col("predicted_clv_fen"))
        .with_columns(_ratios())
        .sort("channel_id")
    )
    by_cohort = customers.group_by("acquired_month").agg(
        pl.len().alias("buyers"), pl.col("revenue_fen").sum().alias("revenue_to_date_fen"),
        _clv_sum(), pl.col("clv_fen").mean().alias("clv_per_buyer_fen"),
        pl.col("p_alive").mean().alias("mean_p_alive"),
    ).sort("acquired_month")
    by_domain = by_channel.group_by("channel_domain").agg(
        pl.col("spend_fen", "new_customers", "buyers", "revenue_to_date_fen").sum(),
        _clv_sum("predicted_clv_fen"),
    ).with_columns(_ratios()).drop("payback_months", strict=False).sort("channel_domain")
    return ChannelValue(customers=customers, by_channel=by_channel, by_cohort=by_cohort,
                        by_domain=by_domain, purchases=purchases, spend=spend, as_of=as_of,
                        model_error=model_error)


def _clv_sum(column: str = "clv_fen") -> pl.Expr:
    """The sum of predicted CLV; null (not 0) when there is no prediction."""
    values = pl.col(column)
    return pl.when(values.is_not_null().any()).then(values.sum()).alias("predicted_clv_fen")


def _ratios() -> list[pl.Expr]:
    spend = pl.col("spend_fen").cast(pl.Float64)
    new = pl.col("new_customers").cast(pl.Float64)
    value = pl.col("revenue_to_date_fen").cast(pl.Float64) + pl.col("predicted_clv_fen")
    cac = pl.when(new > 0).then(spend / new)
    return [
        cac.alias("cac_fen"),
        pl.when(new > 0).then(value / new).alias("value_per_customer_fen"),
        pl.when((new > 0) & (spend > 0)).then(value / spend).alias("clv_to_cac"),
        pl.when(spend > 0).then(100.0 * pl.col("revenue_to_date_fen") / spend)
        .alias("returned_to_date_per_100"),
        pl.when(spend > 0).then(100.0 * value / spend).alias("returned_with_clv_per_100"),
    ]


def payback_months(engine: MetricEngine, *, as_of: date, costs: pl.DataFrame) -> pl.DataFrame:
    """Months from acquisition until a channel's revenue per acquired customer reaches its
    CAC, from the cohorts observed that long (null: not yet)."""
    revenue = CHANNEL_MONTH_REVENUE.run(engine, {"as_of_day": day_number(as_of)})
    end = month_start(as_of)
    observed = revenue.with_columns(
        ((end.year * 12 + end.month)
         - (pl.col("acquired_month").dt.year() * 12 + pl.col("acquired_month").dt.month()))
        .cast(pl.Int64).alias("months_observed"))
    acquiring = costs.filter(pl.col("new_customers") > 0)
    cac: dict[int, float] = dict(zip(
        acquiring.get_column("channel_id").to_list(),
        (acquiring.get_column("spend_fen") / acquiring.get_column("new_customers")).to_list(),
        strict=True))
    rows: list[tuple[int, int | None]] = []
    for channel_id, channel_cac in cac.items():
        frame = observed.filter(pl.col("channel_id") == channel_id)
        rows.append((channel_id, _payback(frame, channel_cac)))
    return pl.DataFrame(rows, schema={"channel_id": pl.Int64, "payback_months": pl.Int64},
                        orient="row")


def _payback(frame: pl.DataFrame, cac: float) -> int | None:
    longest = max(frame.get_column("months_observed").to_list(), default=0)
    for months in range(1, int(longest) + 1):
        cohorts = frame.filter(pl.col("months_observed") >= months)
        sizes = int(sum(cohorts.unique("acquired_month").get_column("customers").to_list()))
        earned = int(sum(cohorts.filter(pl.col("month_offset") < months)
                         .get_column("revenue_fen").to_list()))
        if sizes and earned / sizes >= cac:
            return months
    return None
