"""Fission metrics over N referral edges (default 1,000,000) on SQLite and PostgreSQL,
against a named baseline in the same run.

yutang: ``GET /api/v1/fission/metrics``'s use case end to end — the set-based reads (edges as
numeric columns, the code holders, the new customers: ``fission.metrics_columns``) and the
vectorised metrics (K-factor with its interval, steps, cycle time, depth by pointer jumping,
top spreaders by subtree size). Baseline: the same reads, then the same metrics by a
pure-Python tree walk (dicts, one recursion-free walk up per customer with memoised depths,
subtree sizes by visiting customers deepest first, ``statistics.median``). Both answers are
compared, and PostgreSQL's with SQLite's. Each run prints wall-clock seconds and the CPU
seconds of this process (less sensitive to other work on a shared machine; the database
server's own time is in the wall clock only), and the load average.

    python bench/bench_fission_metrics.py [--edges 1000000] [--runs 3] [--postgres URL]
                                          [--skip-postgres]
"""

from __future__ import annotations

import argparse
import base64
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.postgres import create_database, postgres_server

from yutang.access.roles import Principal
from yutang.fission import metrics_repository, referral_service
from yutang.fission.metrics import Z_95
from yutang.fission.metrics_schemas import FissionMetricsRead
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine, make_session_factory
from yutang.migrate import upgrade

ACTOR = Principal.system("bench")
START = 1_767_225_600  # 2026-01-01 UTC


def plant(path: Path, edges: int, seed: int = 7) -> None:
    """Customers 1..edges+roots; each referee i is referred by an earlier customer (a tree
    of about 12 generations); 70% join, 20% of joins order, 2% are rejected."""
    rng = np.random.default_rng(seed)
    roots = max(1, edges // 20)
    customers = edges + roots
    referee = np.arange(roots + 1, customers + 1, dtype=np.int64)
    referrer = (rng.random(edges) ** 3 * (referee - 1)).astype(np.int64) + 1
    clicked = START + np.sort(rng.uniform(0, 300 * 86_400, edges))
    joined = np.where(rng.random(edges) < 0.7, clicked + rng.exponential(43_200, edges), -1)
    ordered = np.where((joined > 0) & (rng.random(edges) < 0.2),
                       joined + rng.exponential(5 * 86_400, edges), -1)
    rejected = rng.random(edges) < 0.02

    def stamps(seconds: np.ndarray) -> list[str | None]:
        """SQLAlchemy's SQLite format (naive UTC, microseconds); None where negative."""
        text = np.char.replace(np.datetime_as_string(
            seconds.astype("datetime64[s]"), unit="us"), "T", " ")
        return [None if value < 0 else item
                for value, item in zip(seconds.tolist(), text.tolist(), strict=True)]

    def stamp(seconds: float) -> str | None:
        return stamps(np.array([seconds]))[0]

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys=OFF")
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    acquired = stamp(START)
    connection.executemany(
        "INSERT INTO customer (id, acquired_at, gender, created_at, updated_at) "
        "VALUES (?, ?, 'unknown', ?, ?)",
        ((int(number), acquired, acquired, acquired) for number in range(1, customers + 1)))
    holders = np.unique(np.concatenate([np.arange(1, roots + 1), referee[joined > 0]]))
    connection.executemany(
        "INSERT INTO referral_code (id, code, owner_kind, customer_id, is_active, created_by, "
        "created_at) VALUES (?, ?, 'customer', ?, 1, 'bench', ?)",
        ((number + 1, f"rfb{number}", int(holder), acquired)
         for number, holder in enumerate(holders)))
    code_of = {int(holder): number + 1 for number, holder in enumerate(holders)}
    clicked_text, joined_text, ordered_text = stamps(clicked), stamps(joined), stamps(ordered)
    status = np.where(rejected, "rejected", np.where(
        ordered > 0, "first_order", np.where(joined > 0, "joined", "clicked"))).tolist()
    referrers, referees = referrer.tolist(), referee.tolist()
    connection.executemany(
        "INSERT INTO referral_edge (code_id, referrer_kind, referrer_customer_id, "
        "referee_customer_id, referee_key, status, clicked_at, joined_at, first_order_at, "
        "rejected_at, rejection_reason) VALUES (?, 'customer', ?, ?, ?, ?, ?, ?, ?, ?, '')",
        ((code_of.get(referrers[i], 1), referrers[i], referees[i], referees[i], status[i],
          clicked_text[i], joined_text[i], ordered_text[i],
          joined_text[i] if rejected[i] else None) for i in range(edges)))
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def python_baseline(edges: metrics_repository.EdgeColumns,
                    holders: list[int]) -> dict[str, Any]:
    """The same metrics, one edge at a time in Python."""
    parent: dict[int, int] = {}
    joined_at: dict[int, float] = {}
    per_referrer: dict[int, int] = {}
    invites = steps_joined = steps_ordered = 0
    participants = set(holders)
    for referee, referrer, rejected, _clicked, joined, ordered in zip(
            edges.referee.tolist(), edges.referrer.tolist(), edges.rejected.tolist(),
            edges.clicked.tolist(), edges.joined.tolist(), edges.first_order.tolist(),
            strict=True):
        if referee == referrer:
            continue
        if referrer > 0:
            invites += 1
            participants.add(referrer)
        if rejected or joined < 0:
            continue
        steps_joined += 1
        steps_ordered += ordered >= 0
        joined_at[referee] = joined
        parent[referee] = referrer
        if referrer > 0:
            per_referrer[referrer] = per_referrer.get(referrer, 0) + 1
    n = len(participants)
    joins = sum(per_referrer.values())
    mean = joins / n
    squares = sum(count * count for count in per_referrer.values())
    half = Z_95 * ((squares - n * mean * mean) / (n - 1) / n) ** 0.5
    depth: dict[int, int] = {}
    nodes = set(parent) | {value for value in parent.values() if value > 0}
    for node in nodes:
        path = []
        current = node
        while current not in depth:
            above = parent.get(current, 0)
            if above <= 0:
                depth[current] = 0
                break
            path.append(current)
            current = above
        base = depth[current]
        for offset, item in enumerate(reversed(path), start=1):
            depth[item] = base + offset
    descendants = dict.fromkeys(nodes, 0)
    for node in sorted(nodes, key=depth.__getitem__, reverse=True):
        above = parent.get(node, 0)
        if above > 0:
            descendants[above] += descendants[node] + 1
    cycles = [joined_at[child] - joined_at[above] for child, above in parent.items()
              if above in joined_at]
    top = sorted(per_referrer, key=lambda node: (-per_referrer[node], -descendants[node],
                                                 node))[:10]
    return {"k": mean, "half": half, "joined": steps_joined, "ordered": steps_ordered,
            "invites": invites, "max_depth": max(depth.values()), "top": top,
            "cycle_median_days": statistics.median(cycles) / 86_400}


COPIED = (("customer", "id, acquired_at, gender, created_at, updated_at"),
          ("referral_code", "id, code, owner_kind, customer_id, is_active, created_by, "
                            "created_at"),
          ("referral_edge", "id, code_id, referrer_kind, referrer_customer_id, "
                            "referee_customer_id, referee_key, status, clicked_at, joined_at, "
                            "first_order_at, rejected_at, rejection_reason"))


def copy_to_postgres(path: Path, url: str) -> None:
    """The planted tables, as they are, into a migrated PostgreSQL database (naive UTC)."""
    source = sqlite3.connect(path)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as target:
        target.execute("SET timezone = 'UTC'")
        target.execute("SET session_replication_role = replica")  # no FK triggers
        for table, columns in COPIED:
            with target.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {columns} FROM {table}"):  # noqa: S608
                    copy.write_row([bool(value) if column.strip() == "is_active" else value
                                    for column, value in zip(columns.split(","), row,
                                                             strict=True)])
            sequence = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) "
            target.execute(sequence + f"FROM {table}))")
        target.commit()
        target.autocommit = True
        target.execute("VACUUM ANALYZE")
    source.close()


def measure(url: str, runs: int) -> tuple[FissionMetricsRead, list[float], list[float]]:
    """The use case ``runs`` times: (the answer, wall seconds, CPU seconds)."""
    engine = create_engine(url)
    factory = make_session_factory(engine)
    walls, cpus = [], []
    try:
        for _ in range(runs):
            with factory() as session:
                started, cpu = time.perf_counter(), time.process_time()
                result = referral_service.fission_metrics(session, actor=ACTOR)
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
    finally:
        engine.dispose()
    return result, walls, cpus


def report(label: str, edges: int, walls: list[float], cpus: list[float]) -> float:
    median = statistics.median(walls)
    print(f"{label}: yutang fission metrics over {edges:,} edges: median {median:.2f} s "
          f"of {len(walls)} (runs: {', '.join(f'{value:.2f}' for value in walls)}; CPU of "
          f"this process median {statistics.median(cpus):.2f} s), load average "
          f"{os.getloadavg()[0]:.1f}")
    return median


def same_answers(first: FissionMetricsRead, second: FissionMetricsRead) -> None:
    """The same metrics; times may differ by under a second a value (SQLite rounds instants
    to whole seconds, PostgreSQL floors them)."""
    assert first.k_factor == second.k_factor and first.steps == second.steps
    assert first.depth == second.depth and first.top_spreaders == second.top_spreaders
    assert (first.new_customers, first.new_from_fission) == (second.new_customers,
                                                               second.new_from_fission)
    for name in ("median_days", "mean_days", "join_to_first_order_median_days"):
        assert abs((getattr(first.cycle_time, name) or 0)
                   - (getattr(second.cycle_time, name) or 0)) < 2 / 86_400, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--skip-postgres", action="store_true")
    arguments = parser.parse_args()
    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(
        base64.urlsafe_b64encode(bytes(range(32))))))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fission.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        started = time.perf_counter()
        plant(path, arguments.edges)
        print(f"planted {arguments.edges:,} referral edges in "
              f"{time.perf_counter() - started:.1f} s")
        result, walls, cpus = measure(url, arguments.runs)
        engine = create_engine(url)
        factory = make_session_factory(engine)
        with factory() as session:
            started = time.perf_counter()
            scope = metrics_repository.Scope()
            edges = metrics_repository.edge_columns(session, scope)
            holders = metrics_repository.code_holders(session, scope).tolist()
            metrics_repository.new_customers(session, scope)
            read = time.perf_counter() - started
            baseline = python_baseline(edges, holders)
            baseline_seconds = time.perf_counter() - started
        engine.dispose()
        k = result.k_factor
        assert abs(baseline["k"] - k.value) < 1e-9 and abs(
            baseline["half"] - (k.upper - k.value)) < 1e-9, (baseline, k)
        assert baseline["max_depth"] == result.depth.max_depth
        assert baseline["top"] == [row.customer_id for row in result.top_spreaders]
        assert abs(baseline["cycle_median_days"] - (result.cycle_time.median_days or 0)) < 1e-6
        print(f"K = {k.value:.4f} [{k.lower:.4f}, {k.upper:.4f}] over {k.participants:,} "
              f"participants; max depth {result.depth.max_depth}; cycle time median "
              f"{result.cycle_time.median_days:.2f} days")
        median = report("SQLite", arguments.edges, walls, cpus)
        print(f"SQLite baseline (same reads {read:.2f} s, then a pure-Python tree walk): "
              f"{baseline_seconds:.2f} s — yutang {baseline_seconds / median:.1f}x faster")
        if arguments.skip_postgres:
            return
        with ExitStack() as stack:
            base = arguments.postgres or stack.enter_context(postgres_server())
            postgres_url = create_database(base, "yutang_bench_fission")
            upgrade(postgres_url)
            copy_to_postgres(path, postgres_url)
            postgres_result, walls, cpus = measure(postgres_url, arguments.runs)
            same_answers(result, postgres_result)
            report("PostgreSQL", arguments.edges, walls, cpus)


if __name__ == "__main__":
    main()
