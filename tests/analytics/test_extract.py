"""The extract grows by high-water marks: a rerun adds nothing; new and changed rows are
added once; the engines read the newest version and count merged customers' orders once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session

from tests.analytics.pool_data import add_order, build_pool, local
from yutang.analytics.engines import DuckDbEngine
from yutang.analytics.extract import refresh_extract
from yutang.analytics.extract_store import read_state
from yutang.pool.models import Customer, Order

TIMEZONE = "Asia/Shanghai"


def _rows_on_disk(directory: Path, table: str) -> int:
    state = read_state(directory)
    assert state is not None
    return sum(pl.read_parquet(path).height for path in state.files(directory, table))


def test_rerun_adds_nothing_and_changes_are_added_once(db: Session, tmp_path: Path) -> None:
    data = build_pool(db)
    directory = tmp_path / "extract"

    first = refresh_extract(db.connection(), directory=directory, timezone=TIMEZONE)
    again = refresh_extract(db.connection(), directory=directory, timezone=TIMEZONE)

    assert first.rows_added == {"customers": 8, "orders": 10, "order_items": 0, "events": 6,
                                "touches": 0, "channels": 2, "channel_spend": 3, "stores": 2,
                                "staff": 1}
    assert again.total_added == 0
    files_after_rerun = {table: len(state.files)
                         for table, state in read_state(directory).tables.items()}  # type: ignore[union-attr]

    # One new order, one order completed later, one customer merged into another.
    add_order(db, data, "o11", customer="c5", paid="2026-10-30", fen=6_000, store="S1")
    changed = db.get_one(Order, data.orders["o5"])
    changed.status, changed.completed_at = "completed", local("2026-10-31")
    db.get_one(Customer, data.customers["c5"]).merged_into_id = data.customers["c4"]
    db.flush()

    third = refresh_extract(db.connection(), directory=directory, timezone=TIMEZONE)
    fourth = refresh_extract(db.connection(), directory=directory, timezone=TIMEZONE)

    assert third.rows_added["orders"] == 2  # o11 new, o5 a new version
    assert third.rows_added["customers"] == 1
    assert third.total_added == 3
    assert fourth.total_added == 0
    assert _rows_on_disk(directory, "orders") == 12
    assert len(read_state(directory).tables["channels"].files) == files_after_rerun["channels"]  # type: ignore[union-attr]

    engine = DuckDbEngine(directory)
    try:
        orders = engine.query("SELECT id, customer_id, status, completed_day FROM orders", {})
        merged = engine.query(
            "SELECT COUNT(*) AS live FROM live_customers", {}).item()
    finally:
        engine.close()
    assert orders.height == 11  # newest versions only
    o5 = orders.filter(pl.col("id") == data.orders["o5"]).row(0, named=True)
    assert o5["status"] == "completed"
    assert o5["completed_day"] == (local("2026-10-31") + timedelta(hours=8)).date().toordinal() \
        - 719163
    by_order = dict(zip(orders["id"].to_list(), orders["customer_id"].to_list(), strict=True))
    # c5's orders, extracted before the merge, now count on c4; c7's on c1.
    assert by_order[data.orders["o8"]] == data.customers["c4"]
    assert by_order[data.orders["o11"]] == data.customers["c4"]
    assert by_order[data.orders["o9"]] == data.customers["c1"]
    assert merged == 6


def test_full_refresh_rebuilds_and_leftover_parts_are_dropped(
    db: Session, tmp_path: Path
) -> None:
    build_pool(db)
    directory = tmp_path / "extract"
    refresh_extract(db.connection(), directory=directory, timezone=TIMEZONE)
    leftover = directory / "orders" / "part-999999.parquet"
    leftover.write_bytes(b"a crashed refresh left this")

    refresh_extract(db.connection(), directory=directory, timezone=TIMEZONE)
    assert not leftover.exists()

    report = refresh_extract(db.connection(), directory=directory, timezone=TIMEZONE,
                             full=True)
    assert report.full and report.rows_added["orders"] == 10
    assert _rows_on_disk(directory, "orders") == 10
