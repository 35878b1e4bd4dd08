"""CLV end to end: a transactions file → one CLV row per customer, yutang against lifetimes.

Writes a synthetic transactions CSV (customer_id,date,amount) for N customers (default
1,000,000) from planted BG/NBD and Gamma-Gamma parameters (the demo's simulator: purchases in
continuous time, same-day purchases then merged by both tools), then times in the same run:

- yutang: ``run_clv`` — read and check the file (Polars), summary, BG/NBD and Gamma-Gamma
  maximum likelihood, P(alive), expected purchases in 39 weeks and 12-month CLV;
- lifetimes (the baseline): pandas ``read_csv``, ``summary_data_from_transaction_data``
  (freq "D", freq_multiplier 7: weeks as days/7), ``BetaGeoFitter.fit``,
  ``GammaGammaFitter.fit`` on the repeat customers, P(alive), expected purchases in 39
  weeks and ``customer_lifetime_value`` (12 months, 1% a month, freq "W").

- pymc-marketing (the second baseline, with ``--pymc-python``: the interpreter of a virtualenv
  that has it, see ``clv_pymc_marketing.py``): the same steps, both models fitted by MAP with
  flat priors, so its estimate is the maximum-likelihood one.

Prints the timings, the speed-ups, and the parameter sets beside the planted ones.

    python bench/bench_clv.py [--customers 1000000] [--seed 7] [--skip-lifetimes]
                              [--pymc-python .venv-pymc/bin/python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from yutang.analytics.clv_tool import ClvOptions, run_clv
from yutang.analytics.transactions import TimeUnit
from yutang.demo.behaviour import (
    OrderValueModel,
    PurchaseProcess,
    draw_customer_spend_rates,
    draw_order_totals,
    simulate_repeat_purchases,
)

PROCESS = PurchaseProcess(r=0.6, alpha=8.0, a=0.8, b=2.4)
ORDER_VALUES = OrderValueModel(p=6.0, q=3.8, v=3_200.0)
OBSERVATION_END = date(2026, 6, 30)
WINDOW_WEEKS = 104.0


def write_transactions(path: Path, customers: int, seed: int) -> int:
    """Customers acquired uniformly over two years; returns the number of rows written."""
    rng = np.random.default_rng(seed)
    first_offset_days = rng.integers(0, int(WINDOW_WEEKS * 7), customers)
    observed_weeks = (WINDOW_WEEKS * 7 - first_offset_days) / 7.0
    repeats = simulate_repeat_purchases(rng, observed_weeks, PROCESS)
    customer = np.concatenate([np.arange(customers), repeats.customer])
    day_offset = np.concatenate([
        first_offset_days,
        first_offset_days[repeats.customer] + np.floor(repeats.weeks_after_first * 7).astype(int),
    ])
    spend_rates = draw_customer_spend_rates(rng, customers, ORDER_VALUES)
    fen = draw_order_totals(rng, spend_rates[customer], ORDER_VALUES)
    order = rng.permutation(customer.size)
    start = OBSERVATION_END - timedelta(days=int(WINDOW_WEEKS * 7))
    days = np.datetime64(start, "D") + day_offset[order].astype("timedelta64[D]")
    table = pl.DataFrame({
        "customer_id": customer[order],
        "date": pl.Series(days).cast(pl.Date),
        "amount": fen[order] / 100.0,
    })
    table.write_csv(path)
    return table.height


Stages = list[tuple[str, float]]
"""(stage, seconds) from ``run_clv``'s progress reports."""


def yutang_end_to_end(path: Path) -> tuple[float, dict[str, float], Any, Stages]:
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    result = run_clv(path, ClvOptions(unit=TimeUnit.WEEK),
                     progress=lambda stage: marks.append((stage, time.perf_counter())))
    elapsed = time.perf_counter() - started
    ends = [moment for _, moment in marks[1:]] + [started + elapsed]
    stages = [(stage.split(" on ")[0], end - moment)
              for (stage, moment), end in zip(marks, ends, strict=True)]
    purchases, spend = result.purchases.parameters, result.spend.parameters
    parameters = {"r": purchases.r, "alpha": purchases.alpha, "a": purchases.a,
                  "b": purchases.b, "p": spend.p, "q": spend.q, "v": spend.v}
    return elapsed, parameters, result.table, stages


def lifetimes_end_to_end(path: Path) -> tuple[float, dict[str, float], Any]:
    warnings.simplefilter("ignore")
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    started = time.perf_counter()
    transactions = pd.read_csv(path, dtype={"customer_id": str})
    summary = summary_data_from_transaction_data(
        transactions, "customer_id", "date", monetary_value_col="amount", freq="D",
        freq_multiplier=7)
    purchases = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    spend = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    summary["p_alive"] = purchases.conditional_probability_alive(
        summary["frequency"], summary["recency"], summary["T"])
    summary["expected_purchases"] = purchases.conditional_expected_number_of_purchases_up_to_time(
        39, summary["frequency"], summary["recency"], summary["T"])
    summary["clv"] = spend.customer_lifetime_value(
        purchases, summary["frequency"], summary["recency"], summary["T"],
        summary["monetary_value"], time=12, discount_rate=0.01, freq="W")
    elapsed = time.perf_counter() - started
    parameters = {**{k: float(v) for k, v in purchases.params_.items()},
                  **{k: float(v) for k, v in spend.params_.items()}}
    return elapsed, parameters, summary


def pymc_marketing_end_to_end(python: str, path: Path, warm_up: Path,
                              out: Path) -> tuple[float, dict[str, float], pl.DataFrame]:
    """In the other virtualenv's interpreter (see ``clv_pymc_marketing.py``)."""
    script = Path(__file__).resolve().parent / "clv_pymc_marketing.py"
    answer = subprocess.run([python, str(script), str(path), str(warm_up), str(out)],
                            check=True, capture_output=True, text=True)
    figures = json.loads(answer.stdout.strip().splitlines()[-1])
    table = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    return float(figures["seconds"]), dict(figures["parameters"]), table


def time_command(path: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "yutang", "clv", "--transactions", str(path),
                    "--out", str(out)], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--pymc-python", help="a Python that has pymc-marketing")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.csv"
        started = time.perf_counter()
        rows = write_transactions(path, options.customers, options.seed)
        written = time.perf_counter() - started
        print(f"transactions file: {options.customers:,} customers, {rows:,} rows, "
              f"{path.stat().st_size / 1e6:.0f} MB (written in {written:.1f} s)")

        # Warm both up on a small file first (imports, thread pools, first calls): untimed.
        warm_up = Path(folder) / "warm-up.csv"
        write_transactions(warm_up, 3_000, options.seed + 1)
        yutang_end_to_end(warm_up)
        if not options.skip_lifetimes:
            lifetimes_end_to_end(warm_up)

        ours_seconds, ours, table, stages = yutang_end_to_end(path)
        print(f"yutang    end to end: {ours_seconds:8.2f} s ("
              + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in stages) + ")")
        command_seconds = time_command(path, Path(folder) / "clv.csv")
        print(f"  (the `yutang clv --out` command in a new process, with start-up and writing "
              f"the table: {command_seconds:.2f} s)")
        if options.skip_lifetimes:
            theirs_seconds, theirs = float("nan"), dict.fromkeys(ours, float("nan"))
        else:
            theirs_seconds, theirs, summary = lifetimes_end_to_end(path)
            print(f"lifetimes end to end: {theirs_seconds:8.2f} s")
            print(f"speed-up: {theirs_seconds / ours_seconds:.1f}x")
            compare_tables(table, _lifetimes_table(summary))
        pymc: dict[str, float] = dict.fromkeys(ours, float("nan"))
        if options.pymc_python:
            pymc_seconds, pymc, pymc_table = pymc_marketing_end_to_end(
                options.pymc_python, path, warm_up, Path(folder) / "pymc.csv")
            print(f"pymc-marketing (MAP) end to end: {pymc_seconds:8.2f} s")
            print(f"speed-up: {pymc_seconds / ours_seconds:.1f}x")
            compare_tables(table, pymc_table)

    planted = {"r": PROCESS.r, "alpha": PROCESS.alpha, "a": PROCESS.a, "b": PROCESS.b,
               "p": ORDER_VALUES.p, "q": ORDER_VALUES.q, "v": ORDER_VALUES.v / 100.0}
    print(f"{'parameter':>9} {'planted':>12} {'yutang':>14} {'lifetimes':>14} {'relative':>10}"
          f" {'pymc-mkt':>14} {'relative':>10}")
    for name, value in ours.items():
        other, third = theirs[name], pymc.get(name, float("nan"))
        print(f"{name:>9} {planted[name]:>12.6g} {value:>14.8g} {other:>14.8g} "
              f"{abs(value / other - 1):>10.1e} {third:>14.8g} {abs(value / third - 1):>10.1e}")
    print("(planted v is in yuan; amounts were drawn in fen and written in yuan. Days are whole "
          "days, so the fitted BG/NBD differs slightly from the continuous-time truth.)")


def _lifetimes_table(summary: Any) -> pl.DataFrame:
    return pl.DataFrame({
        "customer_id": pl.Series(summary.index.to_numpy().astype(str), dtype=pl.String),
        **{column: summary[column].to_numpy(dtype=float)
           for column in ("frequency", "recency", "monetary_value", "p_alive",
                          "expected_purchases", "clv")},
    })


def compare_tables(table: pl.DataFrame, theirs: pl.DataFrame) -> None:
    """Largest relative difference per output column the other side has, customers matched
    by id."""
    joined = table.join(theirs, on="customer_id", suffix="_other")
    print(f"customers: yutang {table.height:,}, other {theirs.height:,}, "
          f"matched {joined.height:,}")
    for column in theirs.columns:
        if column == "customer_id":
            continue
        ours = joined.get_column(column).to_numpy().astype(float)
        other = joined.get_column(f"{column}_other").to_numpy().astype(float)
        scale = np.maximum(np.abs(other), 1e-300)
        print(f"  {column:>18}: max relative difference {np.max(np.abs(ours - other) / scale):.1e}")


if __name__ == "__main__":
    main()
