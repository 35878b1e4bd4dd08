"""Planted truth of the demo's promoted programmes (``demo.programmes_data``): the results of
the fission task and of the group-buy deal find the planted arms exactly, and their 95%
intervals cover the planted uplifts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.campaigns import programme_results
from yutang.demo.models import PlantedTruth


def check_programmes(session: Session) -> None:
    truth = session.scalars(select(PlantedTruth.value).where(
        PlantedTruth.name == "programmes")).one()
    task, deal = truth["fission_task"], truth["group_buy_deal"]
    read = programme_results.fission_task_results(session, actor=SYSTEM,
                                                  task_id=task["task_id"])
    assert [row.id for row in read.campaigns] == [task["campaign_id"]]
    assert (read.treated, read.treated_conversions, read.treated_gmv_fen) == (
        task["treated"], task["treated_conversions"], task["treated_gmv_fen"])
    assert (read.holdout, read.holdout_conversions, read.holdout_gmv_fen) == (
        task["holdout"], task["holdout_conversions"], task["holdout_gmv_fen"])
    assert task["uplift_planted"] == pytest.approx(0.05)
    assert read.has_holdout and read.uplift_low is not None and read.uplift_high is not None
    assert read.uplift_low <= task["uplift_planted"] <= read.uplift_high
    assert read.treated >= 50 and read.holdout >= 10 and read.treated_conversions > 0

    sold = programme_results.group_buy_deal_results(session, actor=SYSTEM,
                                                    deal_id=deal["deal_id"])
    assert (sold.treated, sold.holdout) == (deal["treated"], deal["holdout"])
    assert (sold.treated_bait_purchases, sold.holdout_bait_purchases) == (
        deal["treated_buyers"], deal["holdout_buyers"])
    assert (sold.treated_conversions, sold.holdout_conversions) == (
        deal["treated_buyers"], deal["holdout_buyers"])
    assert (sold.treated_upgrades, sold.holdout_upgrades) == (
        deal["treated_upgrades"], deal["holdout_upgrades"])
    assert sold.bait_discount_fen == deal["bait_discount_fen"]
    assert sold.uplift_low is not None and sold.uplift_high is not None
    assert sold.uplift_low <= deal["uplift_planted"] <= sold.uplift_high
    assert sold.treated_bait_purchases > 0
