"""Layers of a pool with known customers, and their write-back onto the customers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.analytics.pool_data import AS_OF, build_pool
from yutang.access.models import AuditEntry
from yutang.access.roles import Principal
from yutang.analytics.engines import DuckDbEngine
from yutang.analytics.errors import BadLayeringPolicy
from yutang.analytics.extract import refresh_extract
from yutang.analytics.layering import LayeringPolicy, ScoreMethod, compute_layers, layer_mix
from yutang.analytics.layers_writeback import write_back_layers
from yutang.pool.models import Customer

ACTOR = Principal.system("tests")


def _layers(db: Session, tmp_path: Path, policy: LayeringPolicy) -> tuple[pl.DataFrame,
                                                                           pl.DataFrame]:
    directory = tmp_path / "extract"
    refresh_extract(db.connection(), directory=directory, timezone="Asia/Shanghai")
    engine = DuckDbEngine(directory)
    try:
        return compute_layers(engine, policy=policy, as_of=AS_OF), layer_mix(engine)
    finally:
        engine.close()


def test_lifecycle_stages_and_threshold_scores(db: Session, tmp_path: Path) -> None:
    data = build_pool(db)
    layers, mix = _layers(db, tmp_path, LayeringPolicy(method=ScoreMethod.THRESHOLD))
    by_name = {name: layers.filter(pl.col("customer_id") == id_).row(0, named=True)
               for name, id_ in data.customers.items() if name != "c7"}

    assert layers.height == 7  # c7 was merged into c1
    assert {name: row["lifecycle_stage"] for name, row in by_name.items()} == {
        "c1": "active", "c2": "new", "c3": "won_back", "c4": "at_risk", "c5": "lost",
        "c6": "new", "c8": "new"}
    c1 = by_name["c1"]
    assert (c1["frequency"], c1["monetary_fen"], c1["recency_days"]) == (3, 33_000, 12)
    # Thresholds: recency 12 days → 5; 3 purchases → 3; 330 yuan → 2; total 10 → high.
    assert (c1["recency_score"], c1["frequency_score"], c1["monetary_score"]) == (5, 3, 2)
    assert c1["value_tier"] == "high"
    assert by_name["c5"]["value_tier"] == "low"  # 335 days, 1 purchase, 10 yuan: 1+1+1
    assert by_name["c8"]["value_tier"] == "prospect"  # its only order was refunded
    assert by_name["c6"]["recency_score"] is None
    overall = dict(mix.filter((pl.col("dimension") == "all")
                              & (pl.col("layer_kind") == "value_tier"))
                   .select("layer", "customers").iter_rows())
    # c2: 5+1+1 and c3: 5+2+1 are medium; c4: 2+2+1 and c5: 1+1+1 low.
    assert overall == {"high": 1, "medium": 2, "low": 2, "prospect": 2}
    s2 = mix.filter((pl.col("key_code") == "S2") & (pl.col("layer_kind") == "lifecycle_stage"))
    assert dict(s2.select("layer", "customers").iter_rows()) == {
        "at_risk": 1, "new": 1, "won_back": 1}


def test_quintile_scores_rank_the_buyers(db: Session, tmp_path: Path) -> None:
    build_pool(db)
    layers, _ = _layers(db, tmp_path, LayeringPolicy())
    buyers = layers.filter(pl.col("frequency") > 0).sort("monetary_fen")
    # Five buyers with distinct spend (10, 40+40, 50, 30+70, 330 yuan): one per quintile.
    assert buyers.get_column("monetary_score").to_list() == [1, 2, 3, 4, 5]


def test_write_back_sets_layers_once_and_leaves_updated_at(db: Session, tmp_path: Path) -> None:
    data = build_pool(db)
    layers, _ = _layers(db, tmp_path, LayeringPolicy(method=ScoreMethod.THRESHOLD))
    c1 = db.get_one(Customer, data.customers["c1"])
    updated_before = c1.updated_at

    changed = write_back_layers(db, actor=ACTOR, layers=layers, as_of=AS_OF)
    again = write_back_layers(db, actor=ACTOR, layers=layers, as_of=AS_OF)

    assert (changed, again) == (7, 0)
    db.expire_all()
    c1 = db.get_one(Customer, data.customers["c1"])
    assert (c1.value_tier, c1.lifecycle_stage, c1.rfm_recency_score) == ("high", "active", 5)
    assert c1.layers_as_of == AS_OF
    assert c1.updated_at == updated_before
    merged = db.get_one(Customer, data.customers["c7"])
    assert merged.value_tier is None and merged.layers_as_of is None
    audits = db.scalar(select(func.count()).select_from(AuditEntry)
                       .where(AuditEntry.action == "analytics.layers_written"))
    assert audits == 2


def test_bad_policy_is_refused() -> None:
    with pytest.raises(BadLayeringPolicy):
        LayeringPolicy(recency_days=(60, 30, 120, 240))
    with pytest.raises(BadLayeringPolicy):
        LayeringPolicy.of(method="median", recency_days=[30, 60, 120, 240],
                          frequency=[8, 5, 3, 2], monetary_fen=[4, 3, 2, 1],
                          value_tier_scores=[13, 10, 7], new_days=30, active_days=90,
                          lost_days=180)
