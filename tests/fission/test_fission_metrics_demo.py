"""Planted truth: the demo's referral branching process has K = invite rate × conversion =
0.6; the K-factor yutang estimates from the demo's referral data covers it with its 95%
interval — for the demo's seed and for seeds it was not tuned on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.demo.generator import DemoOptions, generate_demo
from yutang.demo.models import PlantedTruth
from yutang.fission import referral_service
from yutang.fission.models import ReferralCode, ReferralEdge
from yutang.kit.db import create_engine
from yutang.migrate import upgrade

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("seed", [7, 99])
def test_the_k_factor_covers_the_planted_one(demo_engine: Engine, seed: int) -> None:
    generate_demo(demo_engine, DemoOptions(customers=6_000, stores=3, seed=seed))
    with Session(demo_engine) as session:
        truth = session.scalars(select(PlantedTruth.value).where(
            PlantedTruth.name == "fission")).one()
        assert truth["k_factor"] == pytest.approx(truth["invite_rate"] * truth["conversion"])
        metrics = referral_service.fission_metrics(session, actor=SYSTEM)
        k = metrics.k_factor
        assert (k.participants, k.invites, k.joins) == (
            truth["participants"], truth["invites"], truth["joins"])
        assert k.lower <= truth["k_factor"] <= k.upper, (k, truth)
        assert k.upper - k.lower < 0.2  # informative, not a vacuous interval
        assert 1 <= metrics.depth.max_depth <= truth["generations"]
        assert session.scalar(select(func.count()).select_from(ReferralEdge)) == truth["invites"]
        assert session.scalar(select(func.count(func.distinct(
            ReferralEdge.referee_customer_id)))) == truth["invites"]  # one referrer each
        assert session.scalar(select(func.count()).select_from(ReferralCode)) == \
            truth["participants"]
