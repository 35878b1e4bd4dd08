"""Planted truth at scale (a check, not a test): on a 1,000,000-customer demo, the BG/NBD
parameters that yutang's analytics fit lie within two standard errors of the planted ones,
and CAC per channel equals planted spend ÷ planted acquisitions exactly.

Generates the demo into a temporary SQLite database with the real command (``yutang demo
--customers N --no-serve --db sqlite:///…``, about 50 s), extracts it (``refresh_extract``),
runs the engine's CLV and CAC (``channel_value`` on DuckDB, as the console and the API do),
rebuilds the demo's plan from its recorded options for the planted acquisitions, and prints
each parameter against the planted value ± 2 SE and each channel's CAC against the planted
one. Exits 1 if anything is off.

    python bench/check_planted_1m.py [--customers 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from fractions import Fraction
from pathlib import Path

from sqlalchemy import select

from yutang.analytics.channel_value import ValueOptions, channel_value
from yutang.analytics.engines import DuckDbEngine
from yutang.analytics.extract import refresh_extract
from yutang.demo.models import PlantedTruth
from yutang.demo.plan import DemoOptions, plan_demo
from yutang.kit.db import create_engine

YUTANG = Path(sys.executable).with_name("yutang")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None,
                        help="Keep the database and extract in this folder")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="yutang-planted-"))
    try:
        return check(folder, arguments.customers)
    finally:
        if arguments.keep is not None:
            shutil.copytree(folder, arguments.keep, dirs_exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


def check(folder: Path, customers: int) -> int:
    url = f"sqlite:///{folder / 'demo.db'}"
    started = time.perf_counter()
    subprocess.run([str(YUTANG), "demo", "--customers", str(customers), "--no-serve",
                    "--no-analytics", "--db", url], check=True, stdout=subprocess.DEVNULL)
    print(f"demo of {customers:,} customers generated in {time.perf_counter() - started:.1f} s")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            truth = {row.name: row.value for row in connection.execute(
                select(PlantedTruth.name, PlantedTruth.value))}
            started = time.perf_counter()
            refresh_extract(connection, directory=folder / "extract", timezone="Asia/Shanghai")
        print(f"extract written in {time.perf_counter() - started:.1f} s")
    finally:
        engine.dispose()
    recorded = truth["demo_options"]
    options = DemoOptions(customers=recorded["customers"], stores=recorded["stores"],
                          seed=recorded["seed"], months=recorded["months"],
                          today=date.fromisoformat(recorded["today"]))
    started = time.perf_counter()
    metrics = DuckDbEngine(folder / "extract")
    try:
        value = channel_value(metrics, as_of=options.today,
                              options=ValueOptions(acquisition_months=options.months))
    finally:
        metrics.close()
    print(f"CLV (BG/NBD + Gamma-Gamma) and CAC on DuckDB in {time.perf_counter() - started:.1f} s "
          f"over {value.customers.height:,} buyers")
    failures = 0
    assert value.purchases is not None, value.model_error
    print("\nBG/NBD (weeks)   fitted      ± SE        planted    |fitted − planted| / SE")
    for name in ("r", "alpha", "a", "b"):
        fitted = getattr(value.purchases.parameters, name)
        error = getattr(value.purchases.standard_errors, name)
        planted = float(truth["bgnbd"][name])
        distance = abs(fitted - planted) / error
        within = distance <= 2.0
        failures += not within
        print(f"  {name:<6} {fitted:12.6f} ± {error:9.6f} {planted:10.4f}    {distance:5.2f}"
              f"  {'within 2 SE' if within else 'OUTSIDE 2 SE'}")

    plan = plan_demo(options)
    spend = plan.spend.amount_fen.sum(axis=1).tolist()
    acquired = plan.spend.new_customers.sum(axis=1).tolist()
    by_code = {row["channel_code"]: row for row in value.by_channel.iter_rows(named=True)}
    print("\nchannel          spend (fen)   new   planted spend ÷ planted new      "
          "yutang CAC (fen)  equal")
    for channel, planted_spend, planted_new in zip(plan.people.channels, spend, acquired,
                                                    strict=True):
        row = by_code[channel.code]
        planted_cac = Fraction(planted_spend, planted_new) if planted_new else None
        equal = (row["spend_fen"], row["new_customers"]) == (planted_spend, planted_new) and (
            row["cac_fen"] == (planted_spend / planted_new if planted_new else None))
        failures += not equal
        shown = "—" if planted_cac is None else f"{planted_spend}/{planted_new}"
        print(f"  {channel.code:<14} {row['spend_fen']:>12,} {row['new_customers']:>7,}"
              f"   {shown:>28} {row['cac_fen'] if row['cac_fen'] is not None else '—':>18}"
              f"  {'yes' if equal else 'NO'}")
    print("\nall checks passed" if not failures else f"\n{failures} check(s) FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
