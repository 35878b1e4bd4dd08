"""The standalone CLV tool: a transactions file → fitted models → one row per customer."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from yutang.analytics.clv_models import (
    BetaGeoFit,
    GammaGammaFit,
    fit_beta_geo,
    fit_gamma_gamma,
    predict_customers,
)
from yutang.analytics.errors import (
    BadObservationEnd,
    BadTimeUnit,
    SpendMeanUndefined,
    TooFewCustomers,
)
from yutang.analytics.transactions import (
    CustomerSummary,
    TimeUnit,
    read_transactions,
    summarise,
)

OUTPUT_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
                  "expected_purchases", "clv")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ClvOptions:
    observation_end: date | None = None
    """Default: the last date in the file."""
    unit: TimeUnit = TimeUnit.WEEK
    predict_periods: float = 39.0
    clv_months: int = 12
    monthly_discount: float = 0.01


@dataclass(frozen=True)
class ClvResult:
    purchases: BetaGeoFit
    spend: GammaGammaFit
    table: pl.DataFrame
    """``OUTPUT_COLUMNS``, one row per customer in the order of their first line."""
    observation_end: date
    options: ClvOptions

    @property
    def customers(self) -> int:
        return self.table.height

    def as_json(self) -> dict[str, Any]:
        purchases, spend = self.purchases.parameters, self.spend.parameters
        return {
            "bgnbd": {"r": purchases.r, "alpha": purchases.alpha, "a": purchases.a,
                      "b": purchases.b, "log_likelihood": self.purchases.log_likelihood},
            "gamma_gamma": {"p": spend.p, "q": spend.q, "v": spend.v},
            "customers": self.customers,
        }

    def write_table(self, path: Path) -> None:
        self.table.write_csv(path, float_precision=None)


def parse_observation_end(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadObservationEnd(
            f"--observation-end {text!r} is not a date (YYYY-MM-DD)") from None


def parse_time_unit(text: str) -> TimeUnit:
    try:
        return TimeUnit(text.strip().lower())
    except ValueError:
        raise BadTimeUnit(f"--unit {text!r} is not day or week") from None


def _quiet(stage: str) -> None:
    """No progress reporting."""


def run_clv(path: Path, options: ClvOptions, progress: Progress = _quiet) -> ClvResult:
    progress(f"reading {path.name}")
    summary = summarise(read_transactions(path), options.observation_end)
    return clv_from_summary(summary, options, progress)


def clv_from_summary(
    summary: CustomerSummary, options: ClvOptions, progress: Progress = _quiet
) -> ClvResult:
    if summary.customers < 2:
        raise TooFewCustomers(
            f"{summary.customers} customer(s) by {summary.observation_end.isoformat()}: "
            "the models need at least 2")
    unit = options.unit
    recency, age = summary.recency(unit), summary.age(unit)
    progress(f"fitting BG/NBD and Gamma-Gamma on {summary.customers:,} customers")
    # The spend model fits on a second thread meanwhile: the compiled passes release the GIL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        spending = pool.submit(fit_gamma_gamma, summary.frequency, summary.monetary_value)
        purchases = fit_beta_geo(summary.frequency, recency, age)
        spend = spending.result()
    if spend.parameters.q <= 1.0:
        raise SpendMeanUndefined(
            f"the spend model's q = {spend.parameters.q:.4g} <= 1: the mean spend per purchase "
            "is infinite on this data, so CLV is undefined")
    progress("predicting")
    alive, expected, value = predict_customers(
        purchases.parameters, spend.parameters, frequency=summary.frequency, recency=recency,
        age=age, monetary_value=summary.monetary_value, months=options.clv_months,
        monthly_discount=options.monthly_discount, periods_per_month=unit.periods_per_month,
        horizon=options.predict_periods,
    )
    table = pl.DataFrame({
        "customer_id": summary.customer_id,
        "frequency": summary.frequency,
        "recency": recency,
        "T": age,
        "monetary_value": summary.monetary_value,
        "p_alive": alive,
        "expected_purchases": expected,
        "clv": value,
    })
    return ClvResult(purchases=purchases, spend=spend, table=table,
                     observation_end=summary.observation_end, options=options)
