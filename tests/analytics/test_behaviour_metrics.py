"""Cohorts, capture and sales credit on the known pool (October 2026, DuckDB)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session

from tests.analytics.pool_data import AS_OF, build_pool
from yutang.analytics.behaviour_sql import CAPTURE, COHORTS, SALES_CREDIT
from yutang.analytics.engines import DuckDbEngine
from yutang.analytics.extract import refresh_extract
from yutang.analytics.periods import PeriodKind, day_number, period_containing


def test_cohorts_capture_and_credit(db: Session, tmp_path: Path) -> None:
    build_pool(db)
    directory = tmp_path / "extract"
    refresh_extract(db.connection(), directory=directory, timezone="Asia/Shanghai")
    october = period_containing(PeriodKind.MONTHLY, date(2026, 10, 9))
    period = {"start_day": october.start_day, "end_day": october.end_day, "store_id": None}
    engine = DuckDbEngine(directory)
    try:
        cohorts = COHORTS.run(engine, {"as_of_day": day_number(AS_OF)})
        capture = CAPTURE.run(engine, period)
        credit = SALES_CREDIT.run(engine, period)
    finally:
        engine.close()

    september = cohorts.filter(pl.col("acquired_month") == date(2026, 9, 1))
    assert september.select("month_offset", "customers", "active_customers", "revenue_fen",
                            "cumulative_revenue_per_customer_fen").rows() == [
        (0, 1, 1, 10_000, 10_000.0), (1, 1, 1, 23_000, 33_000.0)]  # c7's order on c1
    assert capture.select("store_code", "new_members", "store_orders", "capture_rate").rows() \
        == [("S1", 2, 1, 2.0), ("S2", 1, 2, 0.5)]
    credited = {(row["dimension"], row["key_code"]): row["gmv_fen"]
                for row in credit.iter_rows(named=True)}
    assert credited[("owner_staff", "s1_guide")] == 23_000
    assert credited[("owner_store", "S1")] == 28_000  # online or in store, the owner's
    assert credited[("owner_store", "S2")] == 7_000  # the refunded order is not credited
    assert credited[("order_store", None)] == 25_000
