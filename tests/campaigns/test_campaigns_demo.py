"""Planted truth: the demo's campaign with a known uplift. yutang's results for it find the
planted treated and holdout counts, conversions and GMV exactly, and their 95% interval
covers the planted uplift; the plan was made by the real planner (the holdout is the stable
hash's, nobody suppressed received anything); the campaign's orders stay few."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.campaigns.programme_demo_checks import check_programmes
from tests.support.factories import SYSTEM
from yutang.campaigns import results
from yutang.campaigns.holdout import is_held_out
from yutang.campaigns.models import Campaign, Delivery, DeliveryStatus
from yutang.campaigns.operator_load import operator_load, week_name
from yutang.demo.campaigns_data import ORDER_SOURCE
from yutang.demo.generator import DemoOptions, generate_demo
from yutang.demo.models import PlantedTruth
from yutang.kit.clock import to_local
from yutang.kit.db import create_engine
from yutang.migrate import upgrade
from yutang.pool.models import Customer, Order


def test_results_recover_the_campaign_the_demo_planted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'campaigns-demo.db'}"
    upgrade(url)
    engine = create_engine(url)
    generate_demo(engine, DemoOptions(customers=4_000, stores=3, seed=11))
    with Session(engine) as session:
        truth = session.scalars(select(PlantedTruth.value).where(
            PlantedTruth.name == "campaigns")).one()
        read = results.campaign_results(session, actor=SYSTEM,
                                        campaign_id=truth["campaign_id"])
        assert (read.treated, read.treated_conversions, read.treated_gmv_fen) == (
            truth["treated"], truth["treated_conversions"], truth["treated_gmv_fen"])
        assert (read.holdout, read.holdout_conversions, read.holdout_gmv_fen) == (
            truth["holdout"], truth["holdout_conversions"], truth["holdout_gmv_fen"])
        assert truth["uplift_planted"] == pytest.approx(0.03)
        assert read.uplift_low <= truth["uplift_planted"] <= read.uplift_high
        assert read.treated >= 50 and read.holdout >= 10
        assert truth["treated_conversions"] > 0

        campaign = session.get_one(Campaign, truth["campaign_id"])
        assert campaign.send_at == datetime.fromisoformat(truth["send_at"])
        deliveries = session.execute(select(Delivery.customer_id, Delivery.status,
                                            Delivery.reason)
                                     .where(Delivery.campaign_id == campaign.id)).all()
        plan = truth["plan"]
        assert len(deliveries) == plan["audience"] == truth["tagged"]
        assert plan["planned"] == truth["treated"] and plan["holdout"] == truth["holdout"]
        assert plan["suppressed"] == sum(plan["suppressed_by"].values()) > 0
        for customer_id, status, reason in deliveries:
            if status == DeliveryStatus.SUPPRESSED.value:
                assert reason in ("opted_out", "no_consent")
            else:  # the planner's holdout is the stable hash's
                held = is_held_out(campaign.id, customer_id, campaign.holdout_basis_points)
                assert status == (DeliveryStatus.HOLDOUT.value if held
                                  else DeliveryStatus.SENT.value)

        # Every campaign order converts a treated or held-out customer inside the window;
        # no suppressed customer bought through the campaign.
        arms = {customer_id: status for customer_id, status, _ in deliveries}
        orders = session.execute(select(Order.customer_id, Order.ordered_at).where(
            Order.source == ORDER_SOURCE)).all()
        assert len(orders) == truth["treated_conversions"] + truth["holdout_conversions"]
        window = timedelta(days=truth["attribution_days"])
        for customer_id, ordered_at in orders:
            assert arms[customer_id] in (DeliveryStatus.SENT.value,
                                         DeliveryStatus.HOLDOUT.value)
            assert campaign.send_at <= ordered_at < campaign.send_at + window
        customers = int(session.scalar(select(func.count()).select_from(Customer).where(
            Customer.merged_into_id.is_(None))) or 0)
        assert len(orders) <= 0.005 * customers
        check_programmes(session)  # the fission task and group-buy deal it promoted

        # Its text names the customer, so the operator-load report of its week counts one
        # WeCom confirmation per customer sent, all by the campaign's account.
        load = operator_load(session, actor=SYSTEM, week=week_name(
            to_local(campaign.send_at).date()), now=campaign.send_at)
        line = next(item for item in load.campaigns if item.campaign_id == campaign.id)
        assert (line.recipients, line.confirmations) == (truth["treated"], truth["treated"])
        assert line.one_task_per_recipient and line.per_customer_variables == ["name"]
        sender = next(item for item in load.staff if item.staff_userid == "demo-hq")
        assert sender.deliveries_sent >= truth["treated"]
    engine.dispose()
