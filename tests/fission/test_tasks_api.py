"""Fission tasks (任务宝) through the API on both backends: "invite 3 friends who join within
7 days" rewards a coupon, points or a purchase right exactly once, recorded as pending
first; late and rejected friends do not count; commissions are off by default, and when on
they pay the direct referrer only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fission.referral_support import Api, error_code, rewards, shop
from tests.offers.support import make_customers, threshold_template
from tests.support.factories import SYSTEM
from yutang.fission import referral_service
from yutang.fission.models import ReferralEdge
from yutang.fission.referral_schemas import ReferralIn
from yutang.fission.task_schemas import FissionTaskCreate
from yutang.kit.clock import set_now_source, utcnow
from yutang.offers.models import Coupon, LedgerTransaction
from yutang.pool.models import Product


def _task(api: Api, **overrides: Any) -> dict[str, Any]:
    body = {"name": "邀3位好友进群送券", "invite_target": 3, "window_days": 7,
            "reward_kind": "points", "reward_points": 500, **overrides}
    response = api.post("/fission-tasks", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _coupon_template(api: Api, **overrides: Any) -> int:
    return int(api.post("/coupon-templates", threshold_template(**overrides),
                        expect=201).json()["id"])


def _start(api: Api, task_id: int, customer_id: int) -> dict[str, Any]:
    return dict(api.post(f"/fission-tasks/{task_id}/participants",
                         {"customer_id": customer_id}, expect=201).json())


def test_a_coupon_reward_is_granted_once_when_the_third_friend_joins(
    client: TestClient, db: Session
) -> None:
    _store, api, (leader, *friends) = shop(db, client, customers=6)
    template_id = _coupon_template(api, stock=10)
    task = _task(api, reward_kind="coupon", coupon_template_id=template_id, reward_points=None)
    started = _start(api, task["id"], leader.id)
    assert (started["invite_target"], started["joined"], started["remaining"],
            started["reward"]) == (3, 0, 3, None)
    again = api.post(f"/fission-tasks/{task['id']}/participants", {"customer_id": leader.id})
    assert again.status_code == 200 and again.json()["code"] == started["code"]

    for friend in friends[:2]:
        api.refer(started["code"], friend.id, status="joined", expect=201)
    clicked_only = api.refer(started["code"], friends[2].id, expect=201).json()
    progress = api.get(f"/fission-tasks/{task['id']}/participants/{leader.id}")
    assert (progress["invited"], progress["joined"], progress["reward"]) == (3, 2, None)
    assert db.scalar(select(func.count()).select_from(Coupon)) == 0

    api.move(clicked_only["id"], "joined", expect=200)
    done = api.get(f"/fission-tasks/{task['id']}/participants/{leader.id}")
    assert (done["joined"], done["remaining"]) == (3, 0) and done["completed_at"]
    reward = done["reward"]
    assert (reward["kind"], reward["status"], reward["attempts"]) == ("coupon", "granted", 1)
    coupon = db.scalars(select(Coupon)).one()
    assert (coupon.customer_id, coupon.source, coupon.code) == (
        leader.id, "fission", reward["coupon_code"])
    statuses = db.scalars(select(ReferralEdge.status).where(
        ReferralEdge.task_id == task["id"])).all()
    assert sorted(statuses) == ["rewarded"] * 3

    late = api.refer(started["code"], friends[3].id, status="joined", expect=201).json()
    assert late["status"] == "joined"  # more friends still count as joins, no second reward
    assert len(rewards(db)) == 1 and db.scalar(select(func.count()).select_from(Coupon)) == 1
    listed = api.get(f"/fission-tasks/{task['id']}")
    assert (listed["participants"], listed["completed"], listed["rewards_granted"]) == (1, 1, 1)
    assert referral_service.sweep(db).rewards_granted == 0


def test_friends_after_the_deadline_or_rejected_do_not_count(client: TestClient,
                                                             db: Session) -> None:
    _, api, (leader, *friends) = shop(db, client, customers=6)
    task = _task(api, invite_target=2, window_days=3)
    started = _start(api, task["id"], leader.id)
    first = api.refer(started["code"], friends[0].id, status="joined", expect=201).json()
    api.move(first["id"], "rejected", reason="羊毛党", expect=200)
    progress = api.get(f"/fission-tasks/{task['id']}/participants/{leader.id}")
    assert progress["joined"] == 0  # taken back
    api.refer(started["code"], friends[1].id, status="joined", expect=201)
    later = utcnow() + timedelta(days=4)
    set_now_source(lambda: later)
    api.refer(started["code"], friends[2].id, status="joined", expect=201)
    progress = api.get(f"/fission-tasks/{task['id']}/participants/{leader.id}")
    assert (progress["invited"], progress["joined"], progress["completed_at"]) == (3, 1, None)
    assert rewards(db) == []
    assert db.scalar(select(func.count()).select_from(LedgerTransaction)) == 0


def test_points_and_purchase_right_rewards(client: TestClient, db: Session) -> None:
    _, api, (leader, *friends) = shop(db, client, customers=5)
    points_task = _task(api, invite_target=1)
    code = _start(api, points_task["id"], leader.id)["code"]
    api.refer(code, friends[0].id, status="joined", expect=201)
    balance = api.get(f"/members/{leader.id}/points")
    assert balance["balance"] == 500
    db.add(Product(sku="PRIVATE-DURIAN", name="私域专享榴莲", price_fen=19_900,
                   is_private_only=True))
    db.flush()
    right_task = _task(api, invite_target=1, reward_kind="purchase_right", reward_points=None,
                       product_sku="PRIVATE-DURIAN")
    other_leader = friends[1]
    code = _start(api, right_task["id"], other_leader.id)["code"]
    assert api.get(f"/customers/{other_leader.id}/purchase-rights") == []
    api.refer(code, friends[2].id, status="joined", expect=201)
    rights = api.get(f"/customers/{other_leader.id}/purchase-rights")
    assert [(right["product_sku"], right["task_id"]) for right in rights] == [
        ("PRIVATE-DURIAN", right_task["id"])]
    unknown = api.post("/fission-tasks", {"name": "x", "invite_target": 1, "window_days": 1,
                                          "reward_kind": "purchase_right",
                                          "product_sku": "NOPE"})
    assert unknown.status_code == 422 and error_code(unknown) == "invalid_fission_task"


def test_a_reward_offers_refuses_stays_pending_until_the_sweep(client: TestClient,
                                                               db: Session) -> None:
    _, api, (leader, *friends) = shop(db, client, customers=3)
    template_id = _coupon_template(api, stock=0)
    task = _task(api, invite_target=1, reward_kind="coupon", coupon_template_id=template_id,
                 reward_points=None)
    code = _start(api, task["id"], leader.id)["code"]
    api.refer(code, friends[0].id, status="joined", expect=201)
    (pending,) = rewards(db)
    assert (pending.status, pending.last_error, pending.attempts) == (
        "pending", "coupon_out_of_stock", 1)
    assert referral_service.sweep(db).rewards_granted == 0
    from yutang.offers.models import CouponTemplate

    template = db.get(CouponTemplate, template_id)
    assert template is not None
    template.stock = 5
    db.flush()
    assert referral_service.sweep(db).rewards_granted == 1
    assert referral_service.sweep(db).rewards_granted == 0
    (granted,) = rewards(db)
    assert (granted.status, granted.attempts) == ("granted", 3)
    assert db.scalar(select(func.count()).select_from(Coupon)) == 1


def test_commissions_are_off_by_default_and_single_level_when_on(
    client: TestClient, db: Session
) -> None:
    store, api, _ = shop(db, client, customers=0)
    refused = api.post("/fission-tasks", {"name": "佣金", "invite_target": 1, "window_days": 1,
                                          "reward_kind": "points", "reward_points": 1,
                                          "commission_points": 50})
    assert refused.status_code == 422 and error_code(refused) == "commissions_disabled"

    grandparent, parent, child = make_customers(db, store, 3, prefix="1371111")
    policy = referral_service.FissionPolicy(commissions_enabled=True)
    task = referral_service.create_task(db, actor=SYSTEM, policy=policy, data=FissionTaskCreate(
        name="佣金", invite_target=10, window_days=30, reward_kind="points",
        reward_points=1, commission_points=50))
    for referrer, referee in ((grandparent, parent), (parent, child)):
        started, _ = referral_service.participate(db, actor=SYSTEM, task_id=task.id,
                                                  customer_id=referrer.id)
        referral_service.record_referral(db, actor=SYSTEM, data=ReferralIn(
            code=started.code, customer_id=referee.id, status="joined"))
    edge = db.scalars(select(ReferralEdge).where(
        ReferralEdge.referee_customer_id == child.id)).one()
    from yutang.fission.referral_schemas import ReferralTransitionIn

    for _ in range(2):
        referral_service.transition(db, actor=SYSTEM, referral_id=edge.id,
                                    data=ReferralTransitionIn(status="first_order"))
    paid = [(reward.kind, reward.customer_id, reward.points) for reward in rewards(db)]
    assert paid == [("commission", parent.id, 50)]  # not the grandparent, and once
