"""Planning a campaign for N recipients (default 1,000,000) with every rule applied (consent
and opt-out, risk, reachability, quiet hours, the weekly cap over earlier deliveries this
week, the holdout), on SQLite and PostgreSQL: yutang's one ``INSERT … SELECT`` against a
named baseline in the same run — per-customer Python: read the audience and each rule's
inputs, decide every customer in a loop (one cap query each), and insert the deliveries
with ``executemany`` — on a copy of the same database; both decide the same.

Each figure is wall seconds and the CPU seconds of the statement (this process on SQLite,
the server backend on PostgreSQL): on a machine others load, wall time is inflated by
waiting for a core, the CPU seconds are the statement's own cost.

    python bench/bench_campaign_planning.py [--customers 1000000]
        [--backend sqlite|postgresql|both] [--postgres URL] [--skip-baseline] [--explain]

Without --postgres a throw-away PostgreSQL server is started (initdb), as in the tests.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaigns_population import (
    SEND_AT,
    WEEK_END,
    WEEK_START,
    Population,
    Stopwatch,
    build,
    load_average,
    new_postgres_database,
    postgres_base,
    seconds,
)
from sqlalchemy import bindparam, text

from yutang.campaigns import planning
from yutang.campaigns.holdout import is_held_out
from yutang.campaigns.models import Campaign
from yutang.campaigns.schedule import Occurrence
from yutang.kit.db import UTCDateTime, create_engine, make_session_factory, unit_of_work


def _explain(url: str, campaign_id: int) -> None:
    engine = create_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = session.get_one(Campaign, campaign_id)
        decisions = planning._decisions(session, campaign, Occurrence("once", SEND_AT), 0,
                                        SEND_AT)
        sql = str(decisions.select.compile(engine, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        for row in session.connection().exec_driver_sql(prefix + sql):
            print("    " + " ".join(str(value) for value in row))
        session.rollback()
    engine.dispose()


def _yutang(url: str, campaign_id: int) -> tuple[list[float | None], Counter[str]]:
    engine = create_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = session.get_one(Campaign, campaign_id)
        with Stopwatch(session.connection()).measure() as measured:
            summary = planning.plan_run(session, campaign=campaign,
                                        occurrence=Occurrence("once", SEND_AT), now=SEND_AT)
    engine.dispose()
    assert summary is not None
    counts = Counter({"planned": summary.planned, "holdout": summary.holdout,
                      **summary.suppressed_by})
    return measured, counts


def _instant(name: str) -> object:
    return bindparam(name, type_=UTCDateTime())


def _baseline(url: str, campaign_id: int) -> tuple[float, Counter[str]]:
    """Per-customer Python (the everyone segment: every customer is in the audience)."""
    engine = create_engine(url)
    started = time.perf_counter()
    week = text("SELECT count(*) FROM campaign_delivery WHERE customer_id = :c AND status IN "
                "('planned','claimed','sending','sent') AND not_before >= :start "
                "AND not_before < :end").bindparams(_instant("start"), _instant("end"))
    with engine.begin() as connection:
        customers = [row[0] for row in connection.execute(text(
            "SELECT id FROM customer WHERE merged_into_id IS NULL AND store_id <> 999999"))]
        consent: dict[int, bool] = {}
        for customer_id, granted in connection.execute(text(
                "SELECT customer_id, granted FROM consent WHERE channel = 'wecom' "
                "ORDER BY recorded_at, id")):
            consent[customer_id] = bool(granted)
        risky = {row[0] for row in connection.execute(text(
            "SELECT customer_id FROM customer_tag JOIN tag ON tag.id = tag_id "
            "WHERE tag.name = 'risk:high'"))}
        reachable = {row[0] for row in connection.execute(text(
            "SELECT customer_id FROM identity WHERE kind = 'wecom_external_userid'"))}
        counts: Counter[str] = Counter()
        rows = []
        for customer_id in customers:
            sent = connection.execute(week, {"c": customer_id, "start": WEEK_START,
                                             "end": WEEK_END}).scalar_one()
            granted = consent.get(customer_id)
            reason = ("opted_out" if granted is False else "no_consent" if granted is None
                      else "risk" if customer_id in risky
                      else "unreachable" if customer_id not in reachable
                      else "customer_cap" if sent >= 2 else None)
            status = ("suppressed" if reason else "holdout"
                      if is_held_out(campaign_id, customer_id, 1000) else "planned")
            counts[reason or status] += 1
            rows.append({"c": campaign_id, "customer": customer_id, "status": status,
                         "reason": reason, "at": SEND_AT})
        run_id = connection.execute(text(
            "INSERT INTO campaign_run (campaign_id, occurrence, planned_for, planned_at, counts)"
            " VALUES (:c, 'baseline', :at, :at, '{}') RETURNING id").bindparams(
            _instant("at")), {"c": campaign_id, "at": SEND_AT}).scalar_one()
        connection.execute(text(
            "INSERT INTO campaign_delivery (campaign_id, run_id, customer_id, status, reason, "
            "not_before, attempts, planned_at) VALUES (:c, :run, :customer, :status, :reason, "
            ":at, 0, :at)").bindparams(_instant("at")),
            [row | {"run": run_id} for row in rows])
    seconds_taken = time.perf_counter() - started
    engine.dispose()
    return seconds_taken, counts


def _compare(label: str, population: Population, baseline_url: str | None,
             explain: bool) -> None:
    if explain:
        _explain(population.url, population.everyone_campaign_id)
    measured, counts = _yutang(population.url, population.everyone_campaign_id)
    print(f"{label} yutang: planned {sum(counts.values()):,} recipients in "
          f"{seconds(measured)}: {dict(sorted(counts.items()))}; load average "
          f"{load_average()}", flush=True)
    if baseline_url is None:
        return
    baseline_seconds, baseline_counts = _baseline(baseline_url,
                                                  population.everyone_campaign_id)
    wall = measured[0]
    assert wall is not None
    print(f"{label} baseline per-customer Python: {baseline_seconds:.2f} s "
          f"({baseline_seconds / wall:.1f}x slower); same decisions: "
          f"{baseline_counts == counts}; load average {load_average()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("bench_planning.db"))
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (else one is started)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    arguments = parser.parse_args()
    if arguments.backend in ("sqlite", "both"):
        population = build(arguments.path, arguments.customers)
        copy = arguments.path.with_suffix(".baseline.db")
        shutil.copyfile(arguments.path, copy)
        _compare("SQLite", population,
                 None if arguments.skip_baseline else f"sqlite:///{copy}", arguments.explain)
    if arguments.backend in ("postgresql", "both"):
        with postgres_base(arguments.postgres) as base:
            url = new_postgres_database(base, "yutang_bench_planning")
            population = build(None, arguments.customers, url=url)
            baseline_url = None
            if not arguments.skip_baseline:
                baseline_url = new_postgres_database(base, "yutang_bench_planning_baseline")
                engine = create_engine(base)
                with engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT") as connection:
                    connection.exec_driver_sql(
                        'DROP DATABASE "yutang_bench_planning_baseline"')
                    connection.exec_driver_sql(
                        'CREATE DATABASE "yutang_bench_planning_baseline" '
                        'TEMPLATE "yutang_bench_planning"')
                engine.dispose()
            _compare("PostgreSQL", population, baseline_url, arguments.explain)


if __name__ == "__main__":
    main()
