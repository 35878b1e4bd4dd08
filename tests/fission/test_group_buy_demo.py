"""The demo's planted group-buy, recovered: yutang's conversion report, team statuses and
refunds equal exactly what the generator planted (``planted_truth.group_buy``)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fission.group_buy_support import SYSTEM, seat_invariants
from yutang.demo.generator import DemoOptions, generate_demo
from yutang.demo.models import PlantedTruth
from yutang.fission.group_buy_conversion import deal_conversion
from yutang.fission.group_buy_models import GroupBuyRefund, GroupBuyTeam
from yutang.kit.db import create_engine
from yutang.pool.models import Order

pytestmark = pytest.mark.slow


def test_the_conversion_report_equals_the_planted_truth(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    try:
        generate_demo(engine, DemoOptions(customers=6_000, stores=3, seed=5))
        with Session(engine) as session:
            truth = session.scalars(select(PlantedTruth.value).where(
                PlantedTruth.name == "group_buy")).one()
            # 0.5% of the 6,000 customers take part: 30 of the 520 seats a full deal plants
            assert truth["teams"] == {"succeeded": 6, "failed": 3, "open": 1}
            assert truth["bait_buyers"] == 18  # the members of the filled teams
            assert 0 < truth["converted"] < truth["bait_buyers"]
            report = deal_conversion(session, actor=SYSTEM, deal_id=truth["deal_id"])
            assert (report.bait_buyers, report.converted) == (truth["bait_buyers"],
                                                              truth["converted"])
            assert report.median_days_to_full == truth["median_days_to_full"]
            assert report.mean_days_to_full == truth["mean_days_to_full"]
            assert report.converted_within_days == truth["converted_within_days"]
            statuses = Counter(session.scalars(select(GroupBuyTeam.status).where(
                GroupBuyTeam.deal_id == truth["deal_id"])))
            assert statuses == Counter(truth["teams"])
            refunds = session.scalar(select(func.count()).select_from(GroupBuyRefund))
            assert refunds == truth["members_refunded"] > 0
            refunded_orders = session.scalar(select(func.count()).select_from(Order).where(
                Order.source == "group_buy", Order.status == "refunded"))
            assert refunded_orders == truth["members_refunded"]
            seat_invariants(session)
    finally:
        engine.dispose()
