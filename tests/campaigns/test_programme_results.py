"""Results of fission tasks and group-buy deals against the holdout of the campaigns that
promote them: exact counts on a constructed population — who is treated, who is held out,
which orders, participations and bait purchases fall inside the window, one unit per customer
across two promoting campaigns, a refunded failed team that costs nothing, and the honest
answer when there is no holdout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.campaigns.programme_population import (
    SEND,
    deliver,
    full_price_order,
    invite,
    participate,
    points_task,
    promoting_campaign,
    reward,
)
from tests.campaigns.support import new_customer, new_store, order
from tests.support.factories import SYSTEM, make_api_key
from yutang.access.roles import Role
from yutang.campaigns import programme_results
from yutang.campaigns.errors import InvalidCampaign
from yutang.campaigns.models import Campaign
from yutang.campaigns.models import DeliveryStatus as Status
from yutang.campaigns.uplift import newcombe_interval
from yutang.fission import group_buy
from yutang.fission.errors import FissionTaskNotFound
from yutang.fission.group_buy_schemas import GroupBuyDealCreate
from yutang.fission.models import EdgeStatus, RewardKind
from yutang.offers.models import Coupon, CouponTemplate
from yutang.pool.models import Customer

SKU = "GB-TEST-CARD"
BAIT, LIST = 9_900, 150_000


def _coupon(db: Session, customer: Customer, *, discount_fen: int, redeemed: bool) -> str:
    template = CouponTemplate(name="任务奖励券", kind="threshold", discount_fen=discount_fen)
    db.add(template)
    db.flush()
    code = f"RW{customer.id:010d}"
    db.add(Coupon(code=code, template_id=template.id, customer_id=customer.id,
                  status="redeemed" if redeemed else "available", valid_from=SEND,
                  discount_fen=discount_fen if redeemed else 0,
                  redeemed_at=SEND if redeemed else None))
    db.flush()
    return code


def test_a_fission_task_against_the_holdout_of_its_two_promoting_campaigns(
        db: Session) -> None:
    store = new_store(db)
    task = points_task(db)
    first = promoting_campaign(db, store, promoted_task_id=task.id, holdout_share=0.5,
                               attribution_days=7, staff_seconds_per_delivery=36,
                               staff_cost_fen_per_hour=6_000)
    second = promoting_campaign(db, store, promoted_task_id=task.id, holdout_share=0.0,
                                attribution_days=3, staff_seconds_per_delivery=72,
                                staff_cost_fen_per_hour=3_000)
    c = {name: new_customer(db, store) for name in
         ("joins", "failed_send", "late", "coupon", "held", "held_idle", "held_then_sent",
          "second_only", "both_treated", "suppressed", "planned", "unpromoted")}
    for name in ("joins", "late", "coupon", "both_treated"):
        deliver(db, first, c[name], Status.SENT)
    deliver(db, first, c["failed_send"], Status.FAILED)
    for name in ("held", "held_idle", "held_then_sent"):
        deliver(db, first, c[name], Status.HOLDOUT)
    deliver(db, first, c["suppressed"], Status.SUPPRESSED)
    deliver(db, first, c["planned"], Status.PLANNED)
    later = SEND + timedelta(days=2)
    for name in ("held_then_sent", "second_only", "both_treated"):
        deliver(db, second, c[name], Status.SENT, at=later)

    # Participation counts inside the treated customer's window only.
    joined, joined_code = participate(db, task, c["joins"], SEND + timedelta(days=1))
    participate(db, task, c["late"], SEND + timedelta(days=8))
    early, _ = participate(db, task, c["failed_send"], SEND - timedelta(days=1))
    with_coupon, _ = participate(db, task, c["coupon"], SEND + timedelta(days=2))
    participate(db, task, c["held"], SEND + timedelta(days=1))  # the holdout is not compared
    friends = [invite(db, store, joined_code, EdgeStatus.JOINED, SEND + timedelta(days=1)),
               invite(db, store, joined_code, EdgeStatus.FIRST_ORDER, SEND + timedelta(days=2))]
    invite(db, store, joined_code, EdgeStatus.REJECTED, SEND + timedelta(days=2))
    invite(db, store, joined_code, EdgeStatus.CLICKED, SEND + timedelta(days=2))
    reward(db, task, c["joins"], kind=RewardKind.POINTS, participant=joined, points=100)
    reward(db, task, c["joins"], kind=RewardKind.COMMISSION, edge=friends[1], points=10)
    reward(db, task, c["failed_send"], kind=RewardKind.POINTS, participant=early, points=100)
    reward(db, task, c["coupon"], kind=RewardKind.COUPON, participant=with_coupon,
           coupon_code=_coupon(db, c["coupon"], discount_fen=500, redeemed=True))
    reward(db, task, c["coupon"], kind=RewardKind.POINTS, participant=with_coupon, points=40,
           granted=False)  # pending: not granted, costs nothing yet

    order(db, c["joins"], at=SEND + timedelta(days=2), paid_fen=10_000)
    order(db, c["late"], at=SEND + timedelta(days=8), paid_fen=99_000)  # after the window
    order(db, c["late"], at=SEND - timedelta(hours=1), paid_fen=99_000)  # before the send
    order(db, c["coupon"], at=SEND + timedelta(days=3), paid_fen=5_000)
    order(db, c["second_only"], at=later + timedelta(days=2), paid_fen=2_000)
    order(db, c["second_only"], at=later + timedelta(days=4), paid_fen=3_000)  # past its 3 days
    order(db, c["both_treated"], at=SEND + timedelta(days=6), paid_fen=4_000)  # first's window
    order(db, c["held"], at=SEND + timedelta(days=1), paid_fen=8_000)
    order(db, c["held_then_sent"], at=SEND + timedelta(days=3), paid_fen=7_000)
    order(db, c["unpromoted"], at=SEND + timedelta(days=1), paid_fen=50_000)

    read = programme_results.fission_task_results(db, actor=SYSTEM, task_id=task.id)

    # Treated: joins, failed_send, late, coupon, both_treated (first), second_only (second);
    # held out: held, held_idle, held_then_sent (the first campaign's assignment wins).
    assert (read.treated, read.treated_conversions, read.treated_gmv_fen) == (6, 4, 21_000)
    assert (read.holdout, read.holdout_conversions, read.holdout_gmv_fen) == (3, 2, 15_000)
    assert read.has_holdout is True
    difference, low, high = newcombe_interval(4, 6, 2, 3)
    assert (read.uplift, read.uplift_low, read.uplift_high) == (
        float(difference), float(low), float(high))
    assert read.incremental_gmv_fen == 21_000 - round(15_000 * 6 / 3)
    assert (read.participants, read.participation_rate, read.invitees) == (2, 2 / 6, 2)
    assert (read.rewards_granted, read.reward_points, read.reward_points_cost_fen) == (3, 110, 110)
    assert read.reward_coupon_cost_fen == 500
    staff = round(4 * 36 * 6_000 / 3600) + round(3 * 72 * 3_000 / 3600)
    assert read.staff_cost_fen == staff
    assert read.cost_fen == 500 + 110 + staff
    assert read.roi == (read.incremental_gmv_fen - read.cost_fen) / read.cost_fen
    assert [(row.id, row.treated, row.holdout) for row in read.campaigns] == [
        (first.id, 5, 3), (second.id, 1, 0)]
    assert sum(day["treated"] + day["holdout"] for day in read.daily) == 9


def test_a_programme_without_a_holdout_says_so_and_invents_no_comparison(db: Session) -> None:
    store = new_store(db)
    task = points_task(db)
    bare = programme_results.fission_task_results(db, actor=SYSTEM, task_id=task.id)
    assert (bare.campaigns, bare.treated, bare.has_holdout, bare.uplift) == ([], 0, False, None)
    promoting = promoting_campaign(db, store, promoted_task_id=task.id, holdout_share=0.0)
    customers = [new_customer(db, store) for _ in range(3)]
    for customer in customers:
        deliver(db, promoting, customer, Status.SENT)
    order(db, customers[0], at=SEND + timedelta(days=1), paid_fen=6_000)
    read = programme_results.fission_task_results(db, actor=SYSTEM, task_id=task.id)
    assert (read.treated, read.treated_conversions, read.treated_gmv_fen) == (3, 1, 6_000)
    assert (read.holdout, read.has_holdout) == (0, False)
    assert (read.uplift, read.uplift_low, read.uplift_high) == (None, None, None)
    assert (read.incremental_gmv_fen, read.roi) == (None, None)
    with pytest.raises(FissionTaskNotFound):
        programme_results.fission_task_results(db, actor=SYSTEM, task_id=task.id + 1000)


def _team(db: Session, deal_id: int, leader: Customer, members: list[Customer],
          at: timedelta) -> None:
    team = group_buy.open_team(db, actor=SYSTEM, deal_id=deal_id,
                               leader_customer_id=leader.id, now=SEND + at)
    for number, member in enumerate(members, start=1):
        group_buy.join_team(db, actor=SYSTEM, team_id=team.id, customer_id=member.id,
                            now=SEND + at + timedelta(minutes=number))


def test_a_group_buy_deal_counts_bait_purchases_upgrades_and_the_discount_per_arm(
        db: Session) -> None:
    store = new_store(db)
    deal = group_buy.create_deal(db, actor=SYSTEM, data=GroupBuyDealCreate(
        name="99元年卡拼团", product_sku=SKU, bait_price_fen=BAIT, list_price_fen=LIST,
        team_size=2, time_limit_minutes=1_440, stock=100))
    promoting = promoting_campaign(db, store, promoted_deal_id=deal.id, holdout_share=0.5,
                                   attribution_days=7)
    g = {name: new_customer(db, store) for name in
         ("leads", "fails", "joins", "too_late", "held_buys", "held_idle")}
    outsiders = [new_customer(db, store) for _ in range(4)]
    for name in ("leads", "fails", "joins", "too_late"):
        deliver(db, promoting, g[name], Status.SENT)
    for name in ("held_buys", "held_idle"):
        deliver(db, promoting, g[name], Status.HOLDOUT)
    _team(db, deal.id, g["leads"], [outsiders[0]], timedelta(hours=1))
    _team(db, deal.id, g["fails"], [], timedelta(days=1))  # nobody joins: fails, refunded
    _team(db, deal.id, outsiders[1], [g["joins"]], timedelta(days=2))
    _team(db, deal.id, g["too_late"], [outsiders[2]], timedelta(days=9))
    _team(db, deal.id, g["held_buys"], [outsiders[3]], timedelta(days=1))
    expiry = group_buy.expire_teams(db, now=SEND + timedelta(days=30))
    assert expiry.members_refunded == 1
    full_price_order(db, g["leads"], sku=SKU, price_fen=LIST, at=SEND + timedelta(days=10))
    full_price_order(db, g["joins"], sku=SKU, price_fen=LIST // 2,  # not a full price
                     at=SEND + timedelta(days=12))
    full_price_order(db, g["held_buys"], sku=SKU, price_fen=LIST, at=SEND + timedelta(days=20))

    read = programme_results.group_buy_deal_results(db, actor=SYSTEM, deal_id=deal.id)
    assert (read.treated, read.treated_conversions, read.treated_gmv_fen) == (4, 2, 2 * BAIT)
    assert (read.holdout, read.holdout_conversions, read.holdout_gmv_fen) == (2, 1, BAIT)
    assert (read.treated_bait_purchases, read.holdout_bait_purchases) == (2, 1)
    assert (read.treated_upgrades, read.holdout_upgrades) == (1, 1)
    assert read.bait_discount_fen == (LIST - BAIT) * 2  # the refunded team costs nothing
    assert (read.staff_cost_fen, read.cost_fen) == (0, (LIST - BAIT) * 2)
    assert read.incremental_gmv_fen == 2 * BAIT - round(BAIT * 4 / 2)
    assert read.roi == (read.incremental_gmv_fen - read.cost_fen) / read.cost_fen
    difference, low, high = newcombe_interval(2, 4, 1, 2)
    assert (read.uplift, read.uplift_low, read.uplift_high) == (
        float(difference), float(low), float(high))


def test_a_campaign_promotes_one_programme_that_exists(db: Session) -> None:
    store = new_store(db)
    task = points_task(db)
    deal = group_buy.create_deal(db, actor=SYSTEM, data=GroupBuyDealCreate(
        product_sku=SKU, bait_price_fen=BAIT, list_price_fen=LIST, team_size=2,
        time_limit_minutes=60, stock=10))
    before = db.scalar(select(func.count()).select_from(Campaign))
    for fields, field in (({"promoted_task_id": task.id, "promoted_deal_id": deal.id},
                           "promoted_deal_id"),
                          ({"promoted_task_id": task.id + 1000}, "promoted_task_id"),
                          ({"promoted_deal_id": deal.id + 1000}, "promoted_deal_id")):
        with pytest.raises(InvalidCampaign) as refused:
            promoting_campaign(db, store, **fields)
        assert refused.value.code == "invalid_campaign"
        assert refused.value.details["field"] == field
    assert db.scalar(select(func.count()).select_from(Campaign)) == before


def test_programme_results_over_the_api(client: TestClient, db: Session) -> None:
    store = new_store(db)
    task = points_task(db)
    deal = group_buy.create_deal(db, actor=SYSTEM, data=GroupBuyDealCreate(
        product_sku=SKU, bait_price_fen=BAIT, list_price_fen=LIST, team_size=2,
        time_limit_minutes=60, stock=10))
    promoting = promoting_campaign(db, store, promoted_task_id=task.id, holdout_share=0.5)
    treated, held = new_customer(db, store), new_customer(db, store)
    deliver(db, promoting, treated, Status.SENT)
    deliver(db, promoting, held, Status.HOLDOUT)
    order(db, treated, at=SEND + timedelta(days=1), paid_fen=3_000)
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    analyst = {"Authorization": f"Bearer {make_api_key(db, Role.ANALYST)}"}
    db.commit()

    shown = client.get(f"/api/v1/campaigns/{promoting.id}", headers=headers).json()
    assert (shown["promoted_task_id"], shown["promoted_deal_id"]) == (task.id, None)
    answer = client.get(f"/api/v1/fission-tasks/{task.id}/results", headers=analyst)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["task_id"], body["treated"], body["treated_conversions"], body["holdout"],
            body["has_holdout"], body["treated_gmv_fen"]) == (task.id, 1, 1, 1, True, 3_000)
    assert body["campaigns"][0]["id"] == promoting.id
    deal_answer = client.get(f"/api/v1/group-buy-deals/{deal.id}/results", headers=analyst)
    assert deal_answer.status_code == 200
    assert (deal_answer.json()["has_holdout"], deal_answer.json()["uplift"],
            deal_answer.json()["campaigns"]) == (False, None, [])
    missing = client.get("/api/v1/group-buy-deals/999999/results", headers=analyst)
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404, "group_buy_deal_not_found")
    missing = client.get("/api/v1/fission-tasks/999999/results", headers=analyst)
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404, "fission_task_not_found")

    both = client.post("/api/v1/campaigns", headers=headers, json={
        "name": "两个都推", "channel": "wecom_single", "audience_kind": "segment",
        "segment_id": promoting.segment_id, "content_id": promoting.content_id,
        "schedule_kind": "once", "send_at": SEND.isoformat(),
        "promoted_task_id": task.id, "promoted_deal_id": deal.id})
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "invalid_campaign"
    assert both.json()["error"]["details"]["field"] == "promoted_deal_id"
