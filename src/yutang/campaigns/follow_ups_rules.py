"""Who each follow-up rule selects now: one set-based statement per rule giving (customer,
store, occurrence) — the occurrence names what the task is about, so a task is created once.

- ``first_order``: the first paid order was ``days`` days ago (up to a week late: a sweep
  that did not run catches up); occurrence ``c<customer>``, once per customer.
- ``points_expiring``: a points lot with points left expires within ``days`` days;
  occurrence ``l<lot>`` of the customer's earliest such lot.
- ``high_value_at_risk``: value tier VIP or high and lifecycle stage at risk; occurrence
  ``c<customer>:p<period>`` with periods of ``days`` days, so at most one task per period.
- ``bait_not_upgraded``: the customer's group-buy (bait) order is ``days`` to ``days + 30``
  days old and no other paid order followed it; occurrence ``o<bait order>``.

Customers whose newest WeCom consent is a withdrawal are never selected: a follow-up is a
1:1 contact, and an opt-out holds for it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, false, func, select
from sqlalchemy.orm import Session, aliased

from yutang.campaigns.follow_ups_models import FollowUpKind, FollowUpRule
from yutang.campaigns.segment_rules import PAID_STATUSES, newest_consent
from yutang.fission.group_buy_models import GROUP_BUY_ORDER_SOURCE
from yutang.offers.models import PointsLot
from yutang.pool.models import Customer, Order

FIRST_ORDER_CATCH_UP = timedelta(days=7)
BAIT_WINDOW = timedelta(days=30)
AT_RISK_TIERS = ("vip", "high")
AT_RISK_STAGE = "at_risk"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    customer_id: int
    store_id: int | None
    occurrence: str


def _contactable() -> Any:
    """Live customers who did not withdraw their WeCom consent."""
    granted = newest_consent("wecom")
    return and_(Customer.merged_into_id.is_(None),
                func.coalesce(granted, True) != false())


def _paid(order: Any) -> Any:
    return order.status.in_(PAID_STATUSES)


def _first_order(session: Session, rule: FollowUpRule, now: datetime) -> list[Candidate]:
    latest = now - timedelta(days=rule.days)
    first = (select(Order.customer_id, func.min(Order.ordered_at).label("first_at"))
             .where(_paid(Order), Order.customer_id.is_not(None))
             .group_by(Order.customer_id).subquery())
    rows = session.execute(select(Customer.id, Customer.store_id)
                           .join(first, first.c.customer_id == Customer.id)
                           .where(first.c.first_at <= latest,
                                  first.c.first_at > latest - FIRST_ORDER_CATCH_UP,
                                  _contactable())
                           .order_by(Customer.id)).all()
    return [Candidate(int(cid), store, f"c{cid}") for cid, store in rows]


def _points_expiring(session: Session, rule: FollowUpRule, now: datetime) -> list[Candidate]:
    rows = session.execute(select(Customer.id, Customer.store_id, func.min(PointsLot.id))
                           .join(PointsLot, PointsLot.customer_id == Customer.id)
                           .where(PointsLot.remaining > 0, PointsLot.expires_at > now,
                                  PointsLot.expires_at <= now + timedelta(days=rule.days),
                                  _contactable())
                           .group_by(Customer.id, Customer.store_id)
                           .order_by(Customer.id)).all()
    return [Candidate(int(cid), store, f"l{lot}") for cid, store, lot in rows]


def _high_value_at_risk(session: Session, rule: FollowUpRule,
                        now: datetime) -> list[Candidate]:
    period = (now - _EPOCH).days // max(1, rule.days)
    rows = session.execute(select(Customer.id, Customer.store_id).where(
        Customer.value_tier.in_(AT_RISK_TIERS), Customer.lifecycle_stage == AT_RISK_STAGE,
        _contactable()).order_by(Customer.id)).all()
    return [Candidate(int(cid), store, f"c{cid}:p{period}") for cid, store in rows]


def _bait_not_upgraded(session: Session, rule: FollowUpRule,
                       now: datetime) -> list[Candidate]:
    latest = now - timedelta(days=rule.days)
    later = aliased(Order)
    upgraded = exists().where(later.customer_id == Order.customer_id, _paid(later),
                              later.source != GROUP_BUY_ORDER_SOURCE,
                              later.ordered_at > Order.ordered_at)
    rows = session.execute(select(Customer.id, Customer.store_id, func.max(Order.id))
                           .join(Order, Order.customer_id == Customer.id)
                           .where(Order.source == GROUP_BUY_ORDER_SOURCE, _paid(Order),
                                  Order.ordered_at <= latest,
                                  Order.ordered_at > latest - BAIT_WINDOW,
                                  ~upgraded, _contactable())
                           .group_by(Customer.id, Customer.store_id)
                           .order_by(Customer.id)).all()
    return [Candidate(int(cid), store, f"o{order}") for cid, store, order in rows]


SELECTORS = {
    FollowUpKind.FIRST_ORDER: _first_order,
    FollowUpKind.POINTS_EXPIRING: _points_expiring,
    FollowUpKind.HIGH_VALUE_AT_RISK: _high_value_at_risk,
    FollowUpKind.BAIT_NOT_UPGRADED: _bait_not_upgraded,
}


def candidates(session: Session, rule: FollowUpRule, now: datetime) -> Sequence[Candidate]:
    return SELECTORS[FollowUpKind(rule.kind)](session, rule, now)
