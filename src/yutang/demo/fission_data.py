"""The demo merchant's referral tree: a branching process with a known invite rate and
conversion, planted as truth (``planted_truth.fission``) for the K-factor check.

Seed customers start spreading 150–120 days before the observation end. Every participant
(a seed, or a friend who joined) holds a referral code and invites Poisson(``invite_rate``)
friends; each invited friend joins with probability ``conversion``, and a friend who joins
becomes a participant in turn. So K = invite_rate × conversion (0.6: the process dies out,
a few thousand edges whatever the size of the demo). Friends are customers of the pool not
yet in the tree; clicks follow the referrer's join by an exponential wait (mean 3 days),
joins follow clicks (mean 12 hours). The referees' first orders are then found in one
set-based statement, and the first-order cursor is set past the demo's orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from yutang.fission.models import EdgeStatus, FissionCursor, OwnerKind, ReferralCode, ReferralEdge
from yutang.fission.referrals import ORDERS_CURSOR
from yutang.kit.clock import utcnow
from yutang.pool.models import Customer, Order, OrderStatus

TRUTH = "fission"
INVITE_RATE = 2.0
CONVERSION = 0.3
SEEDS = 300
MAX_SHARE_OF_CUSTOMERS = 0.5
"""Seeds shrink for a small demo so the tree never needs more than half its customers."""
CLICK_DELAY_DAYS = 3.0
JOIN_DELAY_HOURS = 12.0


@dataclass(frozen=True)
class FissionPlanted:
    seeds: int
    participants: int
    invites: int
    joins: int
    generations: int

    def as_truth(self) -> dict[str, Any]:
        return {"invite_rate": INVITE_RATE, "conversion": CONVERSION,
                "k_factor": INVITE_RATE * CONVERSION, "seeds": self.seeds,
                "participants": self.participants, "invites": self.invites,
                "joins": self.joins, "generations": self.generations,
                "definition": "participants hold a customer referral code; K = joins per "
                              "participant = invites per participant x conversion"}


@dataclass
class _Edge:
    referrer: int
    referee: int
    clicked: datetime
    joined: datetime | None


def plant_fission(session: Session, *, seed: int, end: datetime) -> FissionPlanted:
    rng = np.random.default_rng([seed, 6])
    customers = np.array(session.scalars(
        select(Customer.id).where(Customer.merged_into_id.is_(None)).order_by(Customer.id)
    ).all(), dtype=np.int64)
    pool = rng.permutation(customers)
    expected_tree = INVITE_RATE / (1 - INVITE_RATE * CONVERSION)  # invites per seed
    seeds = int(min(SEEDS, customers.shape[0] * MAX_SHARE_OF_CUSTOMERS // (1 + expected_tree)))
    if seeds < 1:
        return FissionPlanted(seeds=0, participants=0, invites=0, joins=0, generations=0)
    taken = seeds
    latest = end - timedelta(minutes=1)
    generation: list[tuple[int, datetime]] = [
        (int(customer), end - timedelta(days=float(rng.uniform(120, 150))))
        for customer in pool[:seeds]]
    participants = [customer for customer, _ in generation]
    edges: list[_Edge] = []
    generations = 0
    while generation and taken < pool.shape[0]:
        generations += 1
        following: list[tuple[int, datetime]] = []
        for referrer, active_at in generation:
            for _ in range(int(rng.poisson(INVITE_RATE))):
                if taken >= pool.shape[0]:
                    break
                friend = int(pool[taken])
                taken += 1
                clicked = min(latest, active_at + timedelta(
                    days=float(rng.exponential(CLICK_DELAY_DAYS))))
                joined = None
                if rng.random() < CONVERSION:
                    joined = min(latest, clicked + timedelta(
                        hours=float(rng.exponential(JOIN_DELAY_HOURS))))
                    following.append((friend, joined))
                    participants.append(friend)
                edges.append(_Edge(referrer, friend, clicked, joined))
        generation = following
    codes = _plant_codes(session, participants)
    _plant_edges(session, edges, codes)
    _settle_first_orders(session)
    return FissionPlanted(seeds=seeds, participants=len(participants), invites=len(edges),
                          joins=sum(edge.joined is not None for edge in edges),
                          generations=generations)


def _plant_codes(session: Session, participants: list[int]) -> dict[int, int]:
    now = utcnow()
    session.execute(insert(ReferralCode), [
        {"code": f"rfdemo{number:06d}", "owner_kind": OwnerKind.CUSTOMER.value,
         "customer_id": customer, "is_active": True, "created_by": "demo", "created_at": now}
        for number, customer in enumerate(participants)])
    rows = session.execute(select(ReferralCode.customer_id, ReferralCode.id).where(
        ReferralCode.code.like("rfdemo%")))
    return {int(customer): int(code_id) for customer, code_id in rows if customer is not None}


def _plant_edges(session: Session, edges: list[_Edge], codes: dict[int, int]) -> None:
    if not edges:
        return
    session.execute(insert(ReferralEdge), [
        {"code_id": codes[edge.referrer], "task_id": None,
         "referrer_kind": OwnerKind.CUSTOMER.value, "referrer_customer_id": edge.referrer,
         "referee_customer_id": edge.referee, "referee_key": edge.referee,
         "status": (EdgeStatus.JOINED if edge.joined else EdgeStatus.CLICKED).value,
         "clicked_at": edge.clicked, "joined_at": edge.joined, "rejection_reason": ""}
        for edge in edges])


def _settle_first_orders(session: Session) -> None:
    """Each planted referee's first paid order at or after the click, in one statement; the
    first-order cursor then starts after the demo's orders."""
    moment = func.coalesce(Order.paid_at, Order.completed_at, Order.ordered_at)
    settled = (Order.status.in_((OrderStatus.PAID.value, OrderStatus.COMPLETED.value)),
               Order.customer_id == ReferralEdge.referee_customer_id,
               Order.ordered_at >= ReferralEdge.clicked_at)
    first_at = select(func.min(moment)).where(*settled).scalar_subquery()
    session.execute(update(ReferralEdge).values(first_order_at=first_at)
                    .execution_options(synchronize_session=False))
    first_id = (select(Order.id).where(*settled, moment == ReferralEdge.first_order_at)
                .order_by(Order.id).limit(1).scalar_subquery())
    session.execute(update(ReferralEdge).where(ReferralEdge.first_order_at.is_not(None))
                    .values(first_order_id=first_id, status=EdgeStatus.FIRST_ORDER.value)
                    .execution_options(synchronize_session=False))
    last_order = session.scalar(select(func.max(Order.id))) or 0
    session.add(FissionCursor(name=ORDERS_CURSOR, position=int(last_order), updated_at=utcnow()))
    session.flush()
