"""The demo merchant's promoted programmes, each measured against a holdout with a known
effect (``planted_truth.programmes``):

- a fission task (任务宝, 100 points for 3 friends) promoted by a WeCom 1:1 campaign with a
  20% holdout, 36 days before the observation end; the treated convert (a completed order of
  source ``programme_demo`` in the 7-day window) at 10%, the holdout at 5%. Participations
  are not planted: a task code would join the referral branching process whose K-factor is
  the fission truth, so the task's participants stay those of real use;
- a second group-buy deal (a 19.90-yuan gift box listed at 199 yuan, teams of two) promoted
  by a campaign with a 20% holdout 50 days before the end; a treated customer buys it in the
  window at 12%, a held-out one at 4%: each buyer opens a team that a friend from outside
  the audience fills at once (no team fails, so the demo's refunds stay those of the first
  deal), and a known share of the buyers pays the full price 10 to 40 days later.

Both campaigns go through ``campaigns_data.launch_campaign`` (the real planner decides
consent, reachability and the holdout). Their audiences are customers with no order in the
window, so the planted rates are the arms' true rates, and the orders stay few.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.campaigns.models import Delivery, DeliveryStatus
from yutang.campaigns.schedule import local_at
from yutang.demo.campaigns_data import LaunchSpec, draw_conversions, launch_campaign
from yutang.demo.group_buy_data import FULL_ORDER_SOURCE
from yutang.fission import group_buy
from yutang.fission import referral_service as fission
from yutang.fission.group_buy_schemas import GroupBuyDealCreate
from yutang.fission.models import RewardKind
from yutang.fission.task_schemas import FissionTaskCreate
from yutang.kit.clock import to_local
from yutang.pool.models import Customer, Order, OrderItem, OrderStatus, Product

TRUTH = "programmes"
ORDER_SOURCE = "programme_demo"
HOLDOUT_SHARE = 0.2
ATTRIBUTION_DAYS = 7
TASK_DAYS_BEFORE_END, DEAL_DAYS_BEFORE_END = 36, 50
TASK_RATES = (0.10, 0.05)
"""Paid-order conversion in the window: treated, holdout."""
DEAL_RATES = (0.12, 0.04)
"""Buying the deal in the window: treated, holdout."""
DEAL_SKU = "GB-GIFT-BOX"
DEAL_BAIT_FEN, DEAL_LIST_FEN = 1_990, 19_900
UPGRADE_SHARE = 0.25
"""Each buyer of the deal pays its full price later with this chance."""
UPGRADE_DAYS = (10, 40)


@dataclass(frozen=True)
class ProgrammesPlanted:
    task: dict[str, Any]
    deal: dict[str, Any]

    def as_truth(self) -> dict[str, Any]:
        return {"fission_task": self.task, "group_buy_deal": self.deal,
                "note": "treated = deliveries marked sent, holdout = held out by the planner; "
                        "one unit per customer; the audiences have no other order in the "
                        "window"}


def plant_programmes(session: Session, *, actor: Principal, seed: int,
                     end: datetime) -> ProgrammesPlanted:
    """Plant both programmes and their promoting campaigns (all before ``end``)."""
    rng = np.random.default_rng([seed, 8_010])
    return ProgrammesPlanted(task=_task(session, actor=actor, rng=rng, end=end),
                             deal=_deal(session, actor=actor, rng=rng, end=end))


def _send_at(end: datetime, days_before: int) -> datetime:
    return local_at(to_local(end).date() - timedelta(days=days_before), "12:00")


def _task(session: Session, *, actor: Principal, rng: np.random.Generator,
          end: datetime) -> dict[str, Any]:
    send_at = _send_at(end, TASK_DAYS_BEFORE_END)
    task = fission.create_task(session, actor=actor, data=FissionTaskCreate(
        name="邀3位好友得100积分", invite_target=3, window_days=7,
        reward_kind=RewardKind.POINTS, reward_points=100,
        starts_at=send_at - timedelta(days=1)))
    spec = LaunchSpec(tag="任务宝邀约名单", description="推广任务宝的邀约名单",
                      content_name="任务宝邀请",
                      body="{name}您好，邀请3位好友加入{store}福利群即得100积分。",
                      campaign_name="任务宝推广（演示）", holdout_share=HOLDOUT_SHARE,
                      attribution_days=ATTRIBUTION_DAYS, promoted_task_id=task.id)
    launched = launch_campaign(session, actor=actor, rng=rng, send_at=send_at, spec=spec)
    arms = draw_conversions(session, rng, campaign_id=launched.campaign_id,
                            send_at=send_at, rates=TASK_RATES, source=ORDER_SOURCE)
    return {"task_id": task.id, "campaign_id": launched.campaign_id,
            "send_at": send_at.isoformat(), "plan": launched.plan,
            "treated_rate_planted": TASK_RATES[0], "holdout_rate_planted": TASK_RATES[1],
            "uplift_planted": round(TASK_RATES[0] - TASK_RATES[1], 10), **arms}


def _deal(session: Session, *, actor: Principal, rng: np.random.Generator,
          end: datetime) -> dict[str, Any]:
    send_at = _send_at(end, DEAL_DAYS_BEFORE_END)
    session.add(Product(sku=DEAL_SKU, name="节日水果礼盒", category="礼盒",
                        price_fen=DEAL_LIST_FEN, is_private_only=True,
                        created_at=send_at - timedelta(days=30)))
    session.flush()
    deal = group_buy.create_deal(session, actor=actor, data=GroupBuyDealCreate(
        name="19.9元水果礼盒拼团", product_sku=DEAL_SKU, bait_price_fen=DEAL_BAIT_FEN,
        list_price_fen=DEAL_LIST_FEN, team_size=2, time_limit_minutes=24 * 60, stock=10_000))
    spec = LaunchSpec(tag="礼盒拼团邀约名单", description="推广礼盒拼团的邀约名单",
                      content_name="礼盒拼团邀请",
                      body="{name}您好，{store}水果礼盒19.9元两人成团，限时一天。",
                      campaign_name="礼盒拼团推广（演示）", holdout_share=HOLDOUT_SHARE,
                      attribution_days=ATTRIBUTION_DAYS, promoted_deal_id=deal.id)
    launched = launch_campaign(session, actor=actor, rng=rng, send_at=send_at, spec=spec)
    units = [(int(customer), str(status)) for customer, status in session.execute(
        select(Delivery.customer_id, Delivery.status).where(
            Delivery.campaign_id == launched.campaign_id, Delivery.customer_id.is_not(None),
            Delivery.status.in_((DeliveryStatus.SENT.value, DeliveryStatus.HOLDOUT.value)))
        .order_by(Delivery.id)) if customer is not None]
    friends = iter(_friends(session, rng, {customer for customer, _ in units}, send_at))
    arms = {"treated": 0, "treated_buyers": 0, "treated_upgrades": 0,
            "holdout": 0, "holdout_buyers": 0, "holdout_upgrades": 0}
    window_minutes = ATTRIBUTION_DAYS * 24 * 60 - 120
    for customer_id, status in units:
        arm = "holdout" if status == DeliveryStatus.HOLDOUT.value else "treated"
        arms[arm] += 1
        if rng.random() >= (DEAL_RATES[1] if arm == "holdout" else DEAL_RATES[0]):
            continue
        friend = next(friends, None)
        if friend is None:
            break
        opened = send_at + timedelta(minutes=int(rng.integers(10, window_minutes)))
        team = group_buy.open_team(session, actor=actor, deal_id=deal.id,
                                   leader_customer_id=customer_id, now=opened)
        group_buy.join_team(session, actor=actor, team_id=team.id, customer_id=friend,
                            now=opened + timedelta(minutes=int(rng.integers(1, 60))))
        arms[f"{arm}_buyers"] += 1
        if rng.random() < UPGRADE_SHARE:
            later = opened + timedelta(days=int(rng.integers(*UPGRADE_DAYS)))
            _full_price_order(session, customer_id, later)
            arms[f"{arm}_upgrades"] += 1
    return {"deal_id": deal.id, "campaign_id": launched.campaign_id,
            "send_at": send_at.isoformat(), "plan": launched.plan,
            "treated_rate_planted": DEAL_RATES[0], "holdout_rate_planted": DEAL_RATES[1],
            "uplift_planted": round(DEAL_RATES[0] - DEAL_RATES[1], 10),
            "bait_discount_fen": (DEAL_LIST_FEN - DEAL_BAIT_FEN) * arms["treated_buyers"],
            **arms}


def _friends(session: Session, rng: np.random.Generator, audience: set[int],
             send_at: datetime) -> list[int]:
    """Customers outside the audience, acquired before the campaign, in random order: the
    friends who fill the buyers' teams."""
    candidates = session.scalars(select(Customer.id).where(
        Customer.merged_into_id.is_(None), Customer.acquired_at < send_at - timedelta(days=30))
        .order_by(Customer.id).limit(4 * len(audience) + 100)).all()
    return [int(customer) for customer in rng.permutation(np.array(candidates, dtype=np.int64))
            if int(customer) not in audience]


def _full_price_order(session: Session, customer_id: int, at: datetime) -> None:
    customer = session.get_one(Customer, customer_id)
    order = Order(source=FULL_ORDER_SOURCE, external_order_id=f"gift-full-{customer_id}",
                  customer_id=customer_id, store_id=customer.store_id,
                  status=OrderStatus.COMPLETED.value, total_fen=DEAL_LIST_FEN,
                  paid_fen=DEAL_LIST_FEN, ordered_at=at, paid_at=at, completed_at=at)
    session.add(order)
    session.flush()
    session.add(OrderItem(order_id=order.id, sku=DEAL_SKU, quantity=1,
                          unit_price_fen=DEAL_LIST_FEN, amount_fen=DEAL_LIST_FEN))
