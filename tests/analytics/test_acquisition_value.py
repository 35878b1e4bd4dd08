"""CAC per channel and month on a known pool; on a demo merchant, CAC per channel equals the
planted spend ÷ the planted acquisitions exactly, and CLV, payback and ROI hang together."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.orm import Session

from tests.analytics.pool_data import build_pool
from yutang.analytics.acquisition_sql import ACQUISITION_COST
from yutang.analytics.channel_value import ValueOptions, channel_value
from yutang.analytics.engines import DuckDbEngine
from yutang.analytics.extract import refresh_extract
from yutang.demo.generator import DemoOptions, generate_demo
from yutang.demo.plan import plan_demo
from yutang.kit.db import create_engine

DEMO = DemoOptions(customers=800, stores=2, seed=11, months=12)


def test_cac_per_channel_and_month(db: Session, tmp_path: Path) -> None:
    data = build_pool(db)
    directory = tmp_path / "extract"
    refresh_extract(db.connection(), directory=directory, timezone="Asia/Shanghai")
    engine = DuckDbEngine(directory)
    try:
        costs = ACQUISITION_COST.run(engine, {"first_month": date(2025, 11, 1),
                                              "end_month": date(2026, 11, 1)})
    finally:
        engine.close()
    rows = {(row["channel_code"], row["month"].isoformat()): (
        row["new_customers"], row["spend_fen"], row["cac_fen"])
        for row in costs.iter_rows(named=True)}
    assert rows == {
        ("WECOM", "2025-12-01"): (1, 0, 0.0),
        ("WECOM", "2026-01-01"): (1, 0, 0.0),
        ("WECOM", "2026-09-01"): (1, 10_000, 10_000.0),  # c7, merged into c1, is not new
        ("WECOM", "2026-10-01"): (0, 20_000, None),
        ("DOUYIN", "2026-10-01"): (2, 90_000, 45_000.0),
    }
    assert data.customers["c3"]  # acquired 2025-10: before the window, not counted


@pytest.fixture
def demo_extract(fresh_database_url: str, tmp_path: Path) -> Path:
    engine = create_engine(fresh_database_url)
    try:
        generate_demo(engine, DEMO)
        directory = tmp_path / "extract"
        with engine.connect() as connection:
            refresh_extract(connection, directory=directory, timezone="Asia/Shanghai")
    finally:
        engine.dispose()
    return directory


@pytest.mark.slow
def test_demo_cac_equals_planted_spend_over_planted_acquisitions(demo_extract: Path) -> None:
    plan = plan_demo(DEMO)
    spend = plan.spend.amount_fen.sum(axis=1).tolist()
    acquired = plan.spend.new_customers.sum(axis=1).tolist()
    engine = DuckDbEngine(demo_extract)
    try:
        value = channel_value(engine, as_of=DEMO.today, options=ValueOptions(
            acquisition_months=DEMO.months))
    finally:
        engine.close()
    by_code = {row["channel_code"]: row for row in value.by_channel.iter_rows(named=True)}
    for channel, planted_spend, planted_new in zip(plan.people.channels, spend, acquired,
                                                    strict=True):
        row = by_code[channel.code]
        assert (row["spend_fen"], row["new_customers"]) == (planted_spend, planted_new)
        expected = planted_spend / planted_new if planted_new else None
        assert row["cac_fen"] == expected, channel.code

    channels = value.by_channel.filter(pl.col("spend_fen") > 0)
    returned = 100.0 * (channels["revenue_to_date_fen"] + channels["predicted_clv_fen"]) \
        / channels["spend_fen"]
    assert channels["returned_with_clv_per_100"].to_list() == pytest.approx(returned.to_list())
    domains = value.by_domain.sort("channel_domain")
    assert domains["spend_fen"].sum() == sum(spend)
    assert set(domains["channel_domain"]) <= {"private", "paid", "public"}
    assert value.customers["clv_fen"].is_finite().all()
    assert value.customers["p_alive"].is_between(0, 1).all()
    assert value.by_cohort["buyers"].sum() == value.customers.height
    assert value.purchases.parameters.r > 0 and value.spend.parameters.q > 1
