"""Segment evaluation over N customers (default 1,000,000), on SQLite and PostgreSQL:
yutang's one compiled statement (``segments.count_rule`` and the audience ids) against a
named baseline in the same run — pandas: load the customers and their consent decisions
into DataFrames and filter in Python — both giving the same set.

Each figure is wall seconds and the CPU seconds of the statement (this process on SQLite,
the server backend on PostgreSQL): on a machine others load, wall time is inflated by
waiting for a core, the CPU seconds are the statement's own cost.

    python bench/bench_segments.py [--customers 1000000] [--path /tmp/bench_segments.db]
                                   [--backend sqlite|postgresql|both] [--postgres URL]
                                   [--explain]

Without --postgres a throw-away PostgreSQL server is started (initdb), as in the tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaigns_population import (
    ACTOR,
    SEGMENT_RULE,
    Population,
    Stopwatch,
    build,
    load_average,
    new_postgres_database,
    postgres_base,
    seconds,
)
from sqlalchemy import func, select

from yutang.campaigns import segments
from yutang.campaigns.segment_rules import audience_statement
from yutang.kit.clock import utcnow
from yutang.kit.db import create_engine, make_session_factory


def _pandas(url: str) -> set[int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        customers = pd.read_sql("SELECT id, value_tier, lifecycle_stage FROM customer "
                                "WHERE merged_into_id IS NULL", connection)
        consent = pd.read_sql("SELECT customer_id, granted, recorded_at, id FROM consent "
                              "WHERE channel = 'wecom'", connection)
    engine.dispose()
    newest = consent.sort_values(["recorded_at", "id"]).groupby("customer_id").tail(1)
    granted = set(newest.loc[newest["granted"].astype(bool), "customer_id"])
    chosen = customers[customers["value_tier"].isin(["vip", "high", "medium"])
                       & customers["lifecycle_stage"].isin(["active", "at_risk", "won_back"])]
    return {int(value) for value in chosen["id"] if value in granted}


def _explain(url: str) -> None:
    engine = create_engine(url)
    statement = select(func.count()).select_from(
        audience_statement(SEGMENT_RULE, now=utcnow()).subquery())
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        for row in connection.exec_driver_sql(prefix + sql):
            print("    " + " ".join(str(value) for value in row))
    engine.dispose()


def _measure(population: Population, customers: int, label: str, explain: bool) -> None:
    if explain:
        _explain(population.url)
    engine = create_engine(population.url)
    factory = make_session_factory(engine)
    timings: list[list[float | None]] = []
    with factory() as session:
        watch = Stopwatch(session.connection())
        for _ in range(3):
            with watch.measure() as measured:
                count = segments.count_rule(session, actor=ACTOR, rule=SEGMENT_RULE)
            timings.append(measured)
        started = time.perf_counter()
        ids = set(session.scalars(audience_statement(SEGMENT_RULE, now=utcnow())))
        ids_seconds = time.perf_counter() - started
    engine.dispose()
    started = time.perf_counter()
    expected = _pandas(population.url)
    pandas_seconds = time.perf_counter() - started
    assert ids == expected and count == len(ids), (count, len(ids), len(expected))
    best = min(timings, key=lambda measured: measured[0] or 0.0)
    assert best[0] is not None
    print(f"{label}: segment of {count:,} customers among {customers:,}: yutang count "
          f"{seconds(best)} best of 3 ({', '.join(f'{t[0]:.2f}' for t in timings)}), ids "
          f"{ids_seconds:.2f} s; baseline pandas load + filter {pandas_seconds:.2f} s "
          f"({pandas_seconds / best[0]:.1f}x); load average {load_average()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("bench_segments.db"))
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (else one is started)")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    arguments = parser.parse_args()
    if arguments.backend in ("sqlite", "both"):
        started = time.perf_counter()
        population = build(arguments.path, arguments.customers)
        print(f"SQLite population of {arguments.customers:,} built in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        _measure(population, arguments.customers, "SQLite", arguments.explain)
    if arguments.backend in ("postgresql", "both"):
        with postgres_base(arguments.postgres) as base:
            started = time.perf_counter()
            url = new_postgres_database(base, "yutang_bench_segments")
            population = build(None, arguments.customers, url=url)
            print(f"PostgreSQL population of {arguments.customers:,} built in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            _measure(population, arguments.customers, "PostgreSQL", arguments.explain)


if __name__ == "__main__":
    main()
