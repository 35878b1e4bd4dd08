"""RFM + lifecycle + funnel over N orders (default 10,000,000): yutang's metric set on DuckDB
against one hand-written DuckDB query over the same Parquet, and on Spark local mode.

Writes a synthetic extract (the columns and ``_state.json`` that ``yutang analytics
refresh`` writes) with numpy and Polars: customers acquired over two years, orders with a
heavy-tailed count per customer (paid, some completed, some refunded), and funnel events
(views, carts, checkouts) in the last month. Then times, in the same run:

- yutang on DuckDB: ``layers`` (RFM scores, value tier, lifecycle per customer, kept on the
  engine), ``layer_mix`` (tiers and stages in all, by store, by channel) and ``funnel``
  (view → cart → checkout → paid → completed within 72 h, in all, by channel, by store) —
  the engine's views, the metric SQL rendered by sqlglot;
- the baseline: ONE hand-written DuckDB query over the same Parquet files giving the same
  layer mix and funnel (it knows each row has one version and nobody was merged);
- yutang on Spark local[2] (``--spark-orders``, default the same N; smaller if it is slow).

The answers are checked equal before any figure is printed.

    python bench/bench_analytics.py [--orders 10000000] [--spark-orders N] [--skip-spark]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from yutang.analytics.behaviour_sql import FUNNEL
from yutang.analytics.engines import DuckDbEngine, MetricEngine, SparkEngine
from yutang.analytics.extract import _empty_frame
from yutang.analytics.extract_store import ExtractState, TableState, write_state
from yutang.analytics.extract_tables import TABLES
from yutang.analytics.layering import LayeringPolicy
from yutang.analytics.layering_sql import CUSTOMER_LAYERS, LAYER_MIX
from yutang.analytics.periods import PeriodKind, day_number, period_containing

AS_OF = date(2026, 11, 1)
TIMEZONE = "Asia/Shanghai"
STORES, CHANNELS = 200, 12
DAY = 86_400


def _epoch_day(day: int) -> int:
    """Local day number → the UTC second of its local midnight (UTC+8)."""
    return day * DAY - 8 * 3600


def _write(directory: Path, state: ExtractState, name: str, frame: pl.DataFrame) -> None:
    relative = f"{name}/part-000001.parquet"
    (directory / name).mkdir(parents=True, exist_ok=True)
    frame.with_columns(pl.lit(1, pl.Int64).alias("_part")).write_parquet(
        directory / relative, statistics=True, row_group_size=1_000_000)
    state.tables[name] = TableState(files=[relative], next_part=2, rows=frame.height,
                                    max_id=frame.height or None, unique_ids=True)


def _typed(name: str, columns: dict[str, Any]) -> pl.DataFrame:
    """``columns`` (the rest null) in the extract's schema for table ``name``."""
    table = next(table for table in TABLES if table.name == name)
    schema = _empty_frame(table, TIMEZONE).schema
    length = len(next(iter(columns.values())))
    return pl.DataFrame({
        column: pl.Series(column, columns[column]).cast(dtype) if column in columns
        else pl.repeat(None, length, dtype=dtype, eager=True).alias(column)
        for column, dtype in schema.items()})


def _where(present: np.ndarray, values: np.ndarray) -> pl.Series:
    """``values`` where ``present``, else null (without a Python object array)."""
    return pl.select(pl.when(pl.Series(present)).then(pl.Series(values))).to_series()


def _month(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date).dt.truncate("1mo")


def write_extract(directory: Path, orders: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    customers = max(orders // 5, 1000)
    end_day = day_number(AS_OF)
    acquired_day = end_day - rng.integers(1, 730, customers)
    store = rng.integers(1, STORES + 1, customers)
    channel = rng.integers(1, CHANNELS + 1, customers)
    state = ExtractState(timezone=TIMEZONE, refreshed_at="2026-11-01T00:00:00+00:00")
    _write(directory, state, "customers", _typed("customers", {
        "id": np.arange(1, customers + 1), "store_id": store,
        "acquisition_channel_id": channel, "acquired_s": _epoch_day(acquired_day) + 36_000,
        "acquired_day": acquired_day, "acquired_month": _month(acquired_day)}))
    # Orders: every customer buys once at acquisition, the rest spread by a heavy tail.
    weights = rng.pareto(1.5, customers) + 1.0
    extra = rng.choice(customers, orders - customers, p=weights / weights.sum())
    buyer = np.concatenate([np.arange(customers), extra])
    span = end_day - acquired_day[buyer]
    paid_day = acquired_day[buyer] + np.where(
        np.arange(orders) < customers, 0, (rng.random(orders) * span).astype(np.int64))
    paid_s = _epoch_day(paid_day) + rng.integers(8 * 3600, 22 * 3600, orders)
    completed = rng.random(orders) < 0.8
    refunded = ~completed & (rng.random(orders) < 0.15)
    amount = np.maximum(rng.gamma(6.0, 1_500.0, orders).astype(np.int64), 100)
    _write(directory, state, "orders", _typed("orders", {
        "id": np.arange(1, orders + 1), "source": np.full(orders, "pos"),
        "customer_id": buyer + 1, "store_id": store[buyer], "channel_id": channel[buyer],
        "status": np.where(refunded, "refunded", np.where(completed, "completed", "paid")),
        "total_fen": amount, "discount_fen": np.zeros(orders, np.int64), "paid_fen": amount,
        "ordered_s": paid_s - 300, "ordered_day": paid_day, "ordered_month": _month(paid_day),
        "paid_s": paid_s, "paid_day": paid_day, "paid_month": _month(paid_day),
        "completed_s": _where(completed, paid_s + 3_600),
        "completed_day": _where(completed, paid_day),
        "refunded_s": _where(refunded, paid_s + 2 * DAY),
        "refunded_day": _where(refunded, paid_day + 2)}))
    # Funnel events in the month before the as-of day: views, some carts and checkouts.
    period = period_containing(PeriodKind.MONTHLY, AS_OF).previous()
    viewers = rng.choice(customers, min(customers, orders // 10), replace=False)
    view_s = _epoch_day(period.start_day) + rng.integers(0, (period.end_day - period.start_day)
                                                         * DAY, viewers.size)
    carts = rng.random(viewers.size) < 0.4
    checkouts = carts & (rng.random(viewers.size) < 0.5)
    kinds = np.concatenate([np.full(viewers.size, "view"), np.full(carts.sum(), "add_to_cart"),
                            np.full(checkouts.sum(), "checkout")])
    who = np.concatenate([viewers, viewers[carts], viewers[checkouts]])
    when = np.concatenate([view_s, view_s[carts] + 600, view_s[checkouts] + 1_200])
    _write(directory, state, "events", _typed("events", {
        "id": np.arange(1, who.size + 1), "type": kinds, "customer_id": who + 1,
        "store_id": store[who], "channel_id": channel[who], "occurred_s": when,
        "occurred_day": (when + 8 * 3600) // DAY}))
    _write(directory, state, "channels", _typed("channels", {
        "id": np.arange(1, CHANNELS + 1), "code": [f"C{i:02d}" for i in range(1, CHANNELS + 1)],
        "name": [f"channel {i}" for i in range(1, CHANNELS + 1)],
        "kind": np.full(CHANNELS, "wecom"), "domain": np.full(CHANNELS, "private")}))
    _write(directory, state, "stores", _typed("stores", {
        "id": np.arange(1, STORES + 1), "code": [f"S{i:03d}" for i in range(1, STORES + 1)],
        "name": [f"store {i}" for i in range(1, STORES + 1)], "city": np.full(STORES, "上海")}))
    for name in ("order_items", "touches", "channel_spend", "staff"):
        table = next(table for table in TABLES if table.name == name)
        _write(directory, state, name, _empty_frame(table, TIMEZONE))
    # As the refresh writes it: merged records only (nobody here).
    _write(directory, state, "customer_roots", pl.DataFrame(
        schema={"id": pl.Int64, "root_id": pl.Int64}))
    write_state(directory, state)
    return {"customers": customers, "orders": orders, "events": int(who.size)}


def parameters() -> dict[str, Any]:
    period = period_containing(PeriodKind.MONTHLY, AS_OF).previous()
    return {**LayeringPolicy().parameters(AS_OF), "start_day": period.start_day,
            "end_day": period.end_day, "window_s": 72 * 3600}


def yutang_metrics(engine: MetricEngine) -> tuple[pl.DataFrame, pl.DataFrame]:
    given = parameters()
    CUSTOMER_LAYERS.materialize(engine, given)
    return LAYER_MIX.run(engine, given), FUNNEL.run(engine, given)


def hand_written_sql(directory: Path) -> str:
    """ONE DuckDB query: RFM, tiers and stages per customer, their mix, and the funnel."""
    p = parameters()
    files = {name: f"read_parquet('{directory / name}/*.parquet')" for name in
             ("customers", "orders", "events", "stores", "channels")}

    def quintile(order: str) -> str:
        return (f"1 + CAST(FLOOR(CAST(5 AS DOUBLE) * (RANK() OVER (ORDER BY {order}) - 1)"
                f" / COUNT(*) OVER ()) AS BIGINT)")

    return f"""
WITH bought AS (
    SELECT customer_id, COUNT(*) AS frequency, SUM(paid_fen) AS monetary_fen,
           MAX(paid_day) AS last_day
    FROM {files['orders']}
    WHERE paid_day < {p['as_of_day']} AND (refunded_day IS NULL OR refunded_day >= {p['as_of_day']})
    GROUP BY customer_id
),
gaps AS (
    SELECT customer_id, MAX(paid_day) FILTER (WHERE paid_day < last_day) AS previous_day
    FROM (SELECT o.customer_id, o.paid_day, b.last_day FROM {files['orders']} AS o
          JOIN bought AS b USING (customer_id)
          WHERE o.paid_day < {p['as_of_day']}
            AND (o.refunded_day IS NULL OR o.refunded_day >= {p['as_of_day']}))
    GROUP BY customer_id
),
scored AS (
    SELECT b.customer_id, b.last_day, g.previous_day, {p['as_of_day']} - b.last_day AS recency,
           {quintile('b.last_day')} + {quintile('b.frequency')} + {quintile('b.monetary_fen')}
               AS score
    FROM bought AS b JOIN gaps AS g USING (customer_id)
),
layers AS (
    SELECT c.store_id, c.acquisition_channel_id AS channel_id,
           CASE WHEN s.customer_id IS NULL THEN 'prospect' WHEN s.score >= 13 THEN 'vip'
                WHEN s.score >= 10 THEN 'high' WHEN s.score >= 7 THEN 'medium' ELSE 'low' END
               AS value_tier,
           CASE WHEN c.acquired_day >= {p['as_of_day'] - p['new_days']} THEN 'new'
                WHEN s.customer_id IS NULL THEN 'lost'
                WHEN s.recency <= {p['active_days']} AND s.previous_day IS NOT NULL
                     AND s.last_day - s.previous_day > {p['lost_days']} THEN 'won_back'
                WHEN s.recency <= {p['active_days']} THEN 'active'
                WHEN s.recency <= {p['lost_days']} THEN 'at_risk' ELSE 'lost' END
               AS lifecycle_stage
    FROM {files['customers']} AS c LEFT JOIN scored AS s ON s.customer_id = c.id
    WHERE c.merged_into_id IS NULL AND c.acquired_day < {p['as_of_day']}
),
mix AS (
    SELECT 'mix' AS part,
           CASE WHEN GROUPING(store_id) = 0 THEN 'store'
                WHEN GROUPING(channel_id) = 0 THEN 'channel' ELSE 'all' END AS dimension,
           COALESCE(store_id, channel_id) AS key_id, layer_kind, layer,
           COUNT(*) AS c1, 0 AS c2, 0 AS c3, 0 AS c4, 0 AS c5
    FROM (SELECT store_id, channel_id, 'value_tier' AS layer_kind, value_tier AS layer
          FROM layers
          UNION ALL SELECT store_id, channel_id, 'lifecycle_stage', lifecycle_stage FROM layers)
    GROUP BY GROUPING SETS ((layer_kind, layer), (store_id, layer_kind, layer),
                            (channel_id, layer_kind, layer))
),
entry AS (
    SELECT customer_id, arg_min(channel_id, occurred_s) AS channel_id,
           arg_min(store_id, occurred_s) AS store_id, MIN(occurred_s) AS at_s
    FROM {files['events']}
    WHERE type = 'view' AND occurred_day >= {p['start_day']} AND occurred_day < {p['end_day']}
    GROUP BY customer_id
),
steps AS (
    SELECT e.customer_id, e.type AS step, e.occurred_s AS at_s FROM {files['events']} AS e
    SEMI JOIN entry USING (customer_id) WHERE e.type IN ('add_to_cart', 'checkout')
    UNION ALL
    SELECT o.customer_id, u.step, u.at_s
    FROM {files['orders']} AS o SEMI JOIN entry USING (customer_id),
    LATERAL (VALUES ('checkout', o.ordered_s), ('paid', o.paid_s),
                    ('completed', o.completed_s)) AS u(step, at_s)
    WHERE u.at_s IS NOT NULL
),
reached AS (
    SELECT n.customer_id, n.channel_id, n.store_id,
           MIN(s.at_s) FILTER (WHERE s.step = 'add_to_cart') AS cart_s,
           list(s.at_s ORDER BY s.at_s) FILTER (WHERE s.step = 'checkout') AS checkouts,
           list(s.at_s ORDER BY s.at_s) FILTER (WHERE s.step = 'paid') AS paids,
           list(s.at_s ORDER BY s.at_s) FILTER (WHERE s.step = 'completed') AS completions
    FROM entry AS n LEFT JOIN steps AS s ON s.customer_id = n.customer_id
     AND s.at_s >= n.at_s AND s.at_s <= n.at_s + {p['window_s']}
    GROUP BY n.customer_id, n.channel_id, n.store_id
),
chained AS (
    SELECT *, list_filter(checkouts, lambda x: x >= cart_s)[1] AS checkout_s FROM reached
),
chained2 AS (SELECT *, list_filter(paids, lambda x: x >= checkout_s)[1] AS paid_s FROM chained),
chained3 AS (
    SELECT *, list_filter(completions, lambda x: x >= paid_s)[1] AS completed_s FROM chained2
),
funnel AS (
    SELECT 'funnel' AS part,
           CASE WHEN GROUPING(channel_id) = 0 THEN 'channel'
                WHEN GROUPING(store_id) = 0 THEN 'store' ELSE 'all' END AS dimension,
           CASE WHEN GROUPING(channel_id) = 0 THEN channel_id ELSE store_id END AS key_id,
           NULL AS layer_kind, NULL AS layer, COUNT(*) AS c1, COUNT(cart_s) AS c2,
           COUNT(checkout_s) AS c3, COUNT(paid_s) AS c4, COUNT(completed_s) AS c5
    FROM chained3 GROUP BY GROUPING SETS ((), (channel_id), (store_id))
)
SELECT * FROM mix UNION ALL SELECT * FROM funnel
"""  # noqa: S608 (our own file paths and numbers)


def run_hand_written(directory: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        frame = pl.from_arrow(connection.sql(hand_written_sql(directory)).to_arrow_table())
    finally:
        connection.close()
    assert isinstance(frame, pl.DataFrame)
    mix = frame.filter(pl.col("part") == "mix").select(
        "dimension", "key_id", "layer_kind", "layer", pl.col("c1").alias("customers"))
    funnel = frame.filter(pl.col("part") == "funnel").select(
        "dimension", "key_id", *(pl.col(f"c{i}").alias(name) for i, name in enumerate(
            ("viewed", "carted", "checked_out", "paid", "completed"), start=1)))
    return mix, funnel


def same(yutang: tuple[pl.DataFrame, pl.DataFrame],
         baseline: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """The layer mix and the funnel are equal, row for row."""
    for ours, theirs in zip(yutang, baseline, strict=True):
        keys = [name for name in ("dimension", "key_id", "layer_kind", "layer")
                if name in theirs.columns]
        numbers = {name: pl.Int64 for name, dtype in theirs.schema.items()
                   if dtype.is_numeric() or dtype == pl.Null}
        left = ours.select(theirs.columns).cast(numbers).sort(keys, nulls_last=True)
        right = theirs.cast(numbers).sort(keys, nulls_last=True)
        assert left.equals(right), (left.head(12), right.head(12))


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--spark-orders", type=int, default=None)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yutang-bench-analytics-") as folder:
        directory = Path(folder) / "extract"
        seconds, sizes = timed(lambda: write_extract(directory, arguments.orders, arguments.seed))
        print(f"synthetic extract: {sizes['customers']:,} customers, {sizes['orders']:,} "
              f"orders, {sizes['events']:,} events written in {seconds:.1f} s")

        def ours() -> tuple[pl.DataFrame, pl.DataFrame]:
            engine = DuckDbEngine(directory)
            try:
                return yutang_metrics(engine)
            finally:
                engine.close()

        same(ours(), run_hand_written(directory))  # warm the page cache; same answers
        yutang_times, baseline_times = [], []
        for _ in range(arguments.runs):
            yutang_times.append(timed(ours)[0])
            baseline_times.append(timed(lambda: run_hand_written(directory))[0])
        best_ours, best_baseline = min(yutang_times), min(baseline_times)
        shown = {name: ", ".join(f"{value:.2f}" for value in values) for name, values in
                 (("ours", yutang_times), ("baseline", baseline_times))}
        print(f"yutang metric set on DuckDB (layers + layer_mix + funnel): "
              f"best {best_ours:.2f} s of {shown['ours']}")
        print(f"one hand-written DuckDB query: best {best_baseline:.2f} s of {shown['baseline']}")
        print(f"ratio yutang / hand-written: {best_ours / best_baseline:.2f}× (target ≤ 1.5×)")
        if arguments.skip_spark:
            return
        spark_orders = arguments.spark_orders or arguments.orders
        spark_directory = directory
        if spark_orders != arguments.orders:
            spark_directory = Path(folder) / "spark-extract"
            write_extract(spark_directory, spark_orders, arguments.seed)
        spark = SparkEngine(spark_directory, master="local[2]")
        try:
            spark_seconds, spark_result = timed(lambda: yutang_metrics(spark))
        finally:
            spark.close()
        print(f"yutang metric set on Spark local[2] over {spark_orders:,} orders: "
              f"{spark_seconds:.1f} s (session and views set up before the clock starts)")
        check = DuckDbEngine(spark_directory)
        try:
            same(spark_result, yutang_metrics(check))
        finally:
            check.close()
        print("Spark's answers equal DuckDB's")


if __name__ == "__main__":
    main()
