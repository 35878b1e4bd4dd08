"""Results of a campaign: conversions and GMV in the attribution window for the treated and
the holdout, the uplift with its 95% interval (``uplift``), incremental GMV, cost and ROI.

Units: each delivery that was sent or failed (treated: assigned to receive — intent to treat,
so a failed send does not flatter the campaign) or held out is one observation, anchored at
its send time (``sent_at``; ``not_before`` for the holdout and failures). It converts when its
customer has a paid or completed order in ``[anchor, anchor + attribution_days)``; its GMV is
those orders' ``paid_fen``. One aggregate statement per arm does it in the database.

Incremental GMV = treated GMV − holdout GMV × (treated / holdout). Cost = discounts of the
campaign's coupons that were redeemed + staff time (seconds per delivery × hourly cost).
ROI = (incremental GMV − cost) / cost.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.campaigns import policy, sql_time
from yutang.campaigns.campaigns import get_campaign
from yutang.campaigns.models import Delivery, DeliveryStatus
from yutang.campaigns.schemas import UpliftRead
from yutang.campaigns.segment_rules import PAID_STATUSES
from yutang.campaigns.uplift import newcombe_interval
from yutang.kit.clock import to_local
from yutang.offers.models import Coupon, CouponStatus
from yutang.pool.models import Order

TREATED = (DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value)


def _arm_rows(session: Session, campaign_id: int, window: timedelta) -> list[Any]:
    """Per delivery of the treated and holdout arms: (arm, converted, gmv, anchor)."""
    dialect = session.get_bind().dialect.name
    anchor = func.coalesce(Delivery.sent_at, Delivery.not_before)
    anchor_epoch = sql_time.epoch_of(anchor, dialect)
    order_epoch = sql_time.epoch_of(Order.ordered_at, dialect)
    seconds = int(window.total_seconds())
    arm = case((Delivery.status == DeliveryStatus.HOLDOUT.value, "holdout"), else_="treated")
    joined = (select(Delivery.id.label("delivery_id"), arm.label("arm"),
                     anchor.label("anchor"), func.count(Order.id).label("orders"),
                     func.coalesce(func.sum(Order.paid_fen), 0).label("gmv"))
              .select_from(Delivery)
              .outerjoin(Order, and_(Order.customer_id == Delivery.customer_id,
                                     Order.status.in_(PAID_STATUSES),
                                     order_epoch >= anchor_epoch,
                                     order_epoch < anchor_epoch + seconds))
              .where(Delivery.campaign_id == campaign_id, Delivery.customer_id.is_not(None),
                     Delivery.status.in_((*TREATED, DeliveryStatus.HOLDOUT.value)))
              .group_by(Delivery.id, arm, anchor))
    return list(session.execute(joined).all())


def campaign_results(session: Session, *, actor: Principal, campaign_id: int) -> UpliftRead:
    access_service.require(actor, policy.READ)
    campaign = get_campaign(session, campaign_id=campaign_id)
    window = timedelta(days=campaign.attribution_days)
    counts = {"treated": [0, 0, 0], "holdout": [0, 0, 0]}  # units, conversions, gmv
    daily: dict[str, dict[str, int]] = {}
    for row in _arm_rows(session, campaign.id, window):
        numbers = counts[row.arm]
        numbers[0] += 1
        numbers[1] += 1 if row.orders else 0
        numbers[2] += int(row.gmv)
        day = to_local(row.anchor).date().isoformat()
        entry = daily.setdefault(day, {"treated": 0, "treated_conversions": 0, "holdout": 0,
                                       "holdout_conversions": 0})
        entry[row.arm] += 1
        entry[f"{row.arm}_conversions"] += 1 if row.orders else 0
    treated, treated_conversions, treated_gmv = counts["treated"]
    holdout, holdout_conversions, holdout_gmv = counts["holdout"]
    difference, low, high = newcombe_interval(treated_conversions, treated,
                                              holdout_conversions, holdout)
    incremental = (treated_gmv - round(holdout_gmv * treated / holdout) if holdout
                   else 0)
    coupon_cost = int(session.scalar(
        select(func.coalesce(func.sum(Coupon.discount_fen), 0))
        .join(Delivery, Delivery.coupon_code == Coupon.code)
        .where(Delivery.campaign_id == campaign.id,
               Coupon.status == CouponStatus.REDEEMED.value)) or 0)
    sent = int(session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.campaign_id == campaign.id,
        Delivery.status == DeliveryStatus.SENT.value)) or 0)
    staff_cost = round(sent * campaign.staff_seconds_per_delivery
                       * campaign.staff_cost_fen_per_hour / 3600)
    cost = coupon_cost + staff_cost
    return UpliftRead(
        treated=treated, treated_conversions=treated_conversions, holdout=holdout,
        holdout_conversions=holdout_conversions,
        treated_rate=treated_conversions / treated if treated else 0.0,
        holdout_rate=holdout_conversions / holdout if holdout else 0.0,
        uplift=float(difference), uplift_low=float(low), uplift_high=float(high),
        treated_gmv_fen=treated_gmv, holdout_gmv_fen=holdout_gmv,
        incremental_gmv_fen=incremental, coupon_cost_fen=coupon_cost,
        staff_cost_fen=staff_cost, cost_fen=cost,
        roi=(incremental - cost) / cost if cost else None,
        attribution_days=campaign.attribution_days,
        daily=[{"day": day, **values} for day, values in sorted(daily.items())])
