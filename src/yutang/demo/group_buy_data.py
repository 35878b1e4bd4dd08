"""The demo merchant's group-buy: one 99-yuan deal on a 1,500-yuan product (seed 002's bait),
a few hundred teams opened and joined through the group-buy service — some filled, some run
out of time and refunded by the expiry job, some still open — and later full-price orders of
a known share of the bait buyers after known delays. What was planted is the truth that
yutang's conversion report must find (``planted_truth.group_buy``)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.fission import group_buy
from yutang.fission.group_buy_conversion import WITHIN_DAYS, days_between
from yutang.fission.group_buy_schemas import GroupBuyDealCreate
from yutang.pool.models import Customer, Order, OrderItem, OrderStatus, Product

TRUTH = "group_buy"
SKU = "GB-FRUIT-CARD"
PRODUCT_NAME = "精品水果年卡（每月一箱）"
BAIT_PRICE_FEN, LIST_PRICE_FEN = 9_900, 150_000
TEAM_SIZE = 3
TIME_LIMIT_MINUTES = 24 * 60
FILLED_TEAMS, FAILED_TEAMS, OPEN_TEAMS = 120, 60, 20
CONVERSION_SHARE = 0.3
"""Each bait buyer of a filled team buys the product at full price later with this chance."""
MAX_DELAY_DAYS = 59
FULL_ORDER_SOURCE = "demo_store"
POOL_SHARE = 0.005
"""At most this share of the pool joins a team: the deal is a campaign beside the purchases
the demo's BG/NBD process plants, not a second purchase process that would drown it in a
small demo."""


@dataclass
class GroupBuyPlanted:
    deal_id: int
    teams: dict[str, int]
    members_refunded: int
    refunded_fen: int
    bait_buyers: int
    converted: int
    days_to_full: list[float] = field(default_factory=list)

    def as_truth(self) -> dict[str, Any]:
        days = self.days_to_full
        return {
            "deal_id": self.deal_id, "sku": SKU, "bait_price_fen": BAIT_PRICE_FEN,
            "list_price_fen": LIST_PRICE_FEN, "team_size": TEAM_SIZE, "teams": self.teams,
            "members_refunded": self.members_refunded, "refunded_fen": self.refunded_fen,
            "bait_buyers": self.bait_buyers, "converted": self.converted,
            "conversion_share_planted": CONVERSION_SHARE,
            "median_days_to_full": round(statistics.median(days), 3) if days else None,
            "mean_days_to_full": round(statistics.fmean(days), 3) if days else None,
            "converted_within_days": {str(window): sum(1 for value in days if value <= window)
                                      for window in WITHIN_DAYS},
        }


def plant_group_buy(session: Session, *, actor: Principal, seed: int,
                    end: datetime) -> GroupBuyPlanted:
    """Plant the deal (and its product) and its teams before ``end`` (the demo's observation
    end) for customers acquired before them, run the expiry job, then the full-price orders
    (all before ``end``)."""
    rng = np.random.default_rng([seed, 2_002])
    wanted = FILLED_TEAMS * TEAM_SIZE + (FAILED_TEAMS + OPEN_TEAMS) * 2
    first_open = end - timedelta(days=120)
    pool_size = int(session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None))) or 0)
    people = _customers(session, min(wanted, int(pool_size * POOL_SHARE)),
                        acquired_before=first_open)
    session.add(Product(sku=SKU, name=PRODUCT_NAME, category="年卡", price_fen=LIST_PRICE_FEN,
                        is_private_only=True, created_at=first_open))
    session.flush()
    scale = min(1.0, len(people) / wanted)
    counts = {"succeeded": int(FILLED_TEAMS * scale), "failed": int(FAILED_TEAMS * scale),
              "open": int(OPEN_TEAMS * scale)}
    deal = group_buy.create_deal(session, actor=actor, data=GroupBuyDealCreate(
        name="99元水果年卡拼团", product_sku=SKU, bait_price_fen=BAIT_PRICE_FEN,
        list_price_fen=LIST_PRICE_FEN, team_size=TEAM_SIZE,
        time_limit_minutes=TIME_LIMIT_MINUTES, stock=10_000))
    queue = iter(people)
    baits: list[tuple[Customer, datetime]] = []
    for status, teams in counts.items():
        for _ in range(teams):
            if status == "open":
                opened = end - timedelta(minutes=int(rng.integers(30, 12 * 60)))
            else:
                opened = first_open + timedelta(minutes=int(rng.integers(0, 55 * 24 * 60)))
            size = TEAM_SIZE if status == "succeeded" else int(rng.integers(1, TEAM_SIZE))
            members = [next(queue) for _ in range(size)]
            joined = _team(session, actor=actor, deal_id=deal.id, members=members,
                           opened=opened, rng=rng)
            if status == "succeeded":
                baits.extend(zip(members, joined, strict=True))
    # The job runs just before the observation end: the open teams still have time then.
    expiry = group_buy.expire_teams(session, now=end - timedelta(seconds=1),
                                    actor_name="demo")
    days = _full_price_orders(session, baits, rng)
    return GroupBuyPlanted(deal_id=deal.id, teams=counts,
                           members_refunded=expiry.members_refunded,
                           refunded_fen=expiry.refunded_fen, bait_buyers=len(baits),
                           converted=len(days), days_to_full=days)


def _customers(session: Session, count: int, *, acquired_before: datetime) -> list[Customer]:
    return list(session.scalars(select(Customer).where(
        Customer.merged_into_id.is_(None), Customer.acquired_at < acquired_before)
        .order_by(Customer.id).limit(count)))


def _team(session: Session, *, actor: Principal, deal_id: int, members: list[Customer],
          opened: datetime, rng: np.random.Generator) -> list[datetime]:
    """Open the team and seat the members within its time; their join times."""
    team = group_buy.open_team(session, actor=actor, deal_id=deal_id,
                               leader_customer_id=members[0].id, now=opened)
    times = [opened]
    moment = opened
    for customer in members[1:]:
        moment += timedelta(minutes=int(rng.integers(1, TIME_LIMIT_MINUTES // TEAM_SIZE)))
        group_buy.join_team(session, actor=actor, team_id=team.id, customer_id=customer.id,
                            now=moment)
        times.append(moment)
    return times


def _full_price_orders(session: Session, baits: list[tuple[Customer, datetime]],
                       rng: np.random.Generator) -> list[float]:
    """A full-price order for a share of the bait buyers after a drawn delay; a cheaper
    order of the same product (which must not count) for some of the others."""
    days: list[float] = []
    for number, (customer, bait_at) in enumerate(baits):
        delay = timedelta(days=int(rng.integers(1, MAX_DELAY_DAYS + 1)),
                          minutes=int(rng.integers(0, 24 * 60)))
        if rng.random() < CONVERSION_SHARE:
            _order(session, customer, number, bait_at + delay, LIST_PRICE_FEN)
            days.append(days_between(bait_at, bait_at + delay))
        elif rng.random() < 0.2:
            _order(session, customer, number, bait_at + delay, LIST_PRICE_FEN // 2)
    return days


def _order(session: Session, customer: Customer, number: int, at: datetime,
           price_fen: int) -> None:
    order = Order(source=FULL_ORDER_SOURCE, external_order_id=f"gb-full-{number}",
                  customer_id=customer.id, store_id=customer.store_id,
                  status=OrderStatus.COMPLETED.value, total_fen=price_fen, paid_fen=price_fen,
                  ordered_at=at, paid_at=at, completed_at=at)
    session.add(order)
    session.flush()
    session.add(OrderItem(order_id=order.id, sku=SKU, quantity=1, unit_price_fen=price_fen,
                          amount_fen=price_fen))
