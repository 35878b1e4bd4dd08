"""Results of a campaign: conversions and GMV in the attribution window for the treated and
the holdout, the uplift with its 95% interval (``uplift``), incremental GMV, cost and ROI.

Units: each delivery that was sent or failed (treated: assigned to receive — intent to treat,
so a failed send does not flatter the campaign) or held out is one observation, anchored at
its send time (``sent_at``; ``not_before`` for the holdout and failures). It converts when its
customer has a paid or completed order in ``[anchor, anchor + attribution_days)`` of its
campaign; its GMV is those orders' ``paid_fen``. One aggregate statement does it in the
database (``arm_units``).

Incremental GMV = treated GMV − holdout GMV × (treated / holdout). Cost = discounts of the
campaign's coupons that were redeemed + staff time (seconds per sent delivery × hourly cost).
ROI = (incremental GMV − cost) / cost.

The units, their tally and the comparison of the arms are shared with the results of the
fission tasks and group-buy deals campaigns promote (``programme_results``), which take one
unit per customer over several campaigns (``first_per_customer``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.campaigns import policy, sql_time
from yutang.campaigns.campaigns import get_campaign
from yutang.campaigns.models import Campaign, Delivery, DeliveryStatus
from yutang.campaigns.schemas import UpliftRead
from yutang.campaigns.segment_rules import PAID_STATUSES
from yutang.campaigns.uplift import newcombe_interval
from yutang.kit.clock import to_local
from yutang.kit.sql import in_list
from yutang.offers.models import Coupon, CouponStatus
from yutang.pool.models import Order

TREATED = (DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value)
TREATED_ARM, HOLDOUT_ARM = "treated", "holdout"


@dataclass(frozen=True)
class ArmUnit:
    """One observation: a delivery of the treated or the holdout arm, with its outcome."""

    delivery_id: int
    campaign_id: int
    customer_id: int
    arm: str
    anchor: datetime
    window_end: datetime
    """``anchor`` + its campaign's attribution days (excluded)."""
    orders: int
    gmv_fen: int

    @property
    def converted(self) -> bool:
        return self.orders > 0

    def in_window(self, moment: datetime) -> bool:
        return self.anchor <= moment < self.window_end


def arm_units(session: Session, *, campaign_ids: Collection[int],
              first_per_customer: bool = False) -> list[ArmUnit]:
    """The treated and holdout deliveries of the campaigns, each with its paid orders and
    GMV in its attribution window. With ``first_per_customer``, a customer is one unit: their
    earliest delivery (by anchor, then id) among the campaigns decides their arm and anchor."""
    if not campaign_ids:
        return []
    dialect = session.get_bind().dialect.name
    anchor = func.coalesce(Delivery.sent_at, Delivery.not_before)
    arm = case((Delivery.status == DeliveryStatus.HOLDOUT.value, HOLDOUT_ARM),
               else_=TREATED_ARM)
    ids = list(campaign_ids)
    of_campaigns = (Delivery.campaign_id == ids[0] if len(ids) == 1
                    else in_list(Delivery.campaign_id, ids))
    units = (select(Delivery.id.label("delivery_id"), Delivery.campaign_id,
                    Delivery.customer_id, arm.label("arm"), anchor.label("anchor"),
                    (Campaign.attribution_days * sql_time.DAY_SECONDS).label("window_seconds"))
             .join(Campaign, Campaign.id == Delivery.campaign_id)
             .where(of_campaigns, Delivery.customer_id.is_not(None),
                    Delivery.status.in_((*TREATED, DeliveryStatus.HOLDOUT.value))))
    if first_per_customer:
        rank = func.row_number().over(partition_by=Delivery.customer_id,
                                      order_by=(anchor, Delivery.id))
        units = units.add_columns(rank.label("rank"))
    unit = units.subquery("unit")
    anchor_epoch = sql_time.epoch_of(unit.c.anchor, dialect)
    order_epoch = sql_time.epoch_of(Order.ordered_at, dialect)
    statement = (select(unit.c.delivery_id, unit.c.campaign_id, unit.c.customer_id,
                        unit.c.arm, unit.c.anchor, unit.c.window_seconds,
                        func.count(Order.id).label("orders"),
                        func.coalesce(func.sum(Order.paid_fen), 0).label("gmv"))
                 .select_from(unit)
                 .outerjoin(Order, and_(Order.customer_id == unit.c.customer_id,
                                        Order.status.in_(PAID_STATUSES),
                                        order_epoch >= anchor_epoch,
                                        order_epoch < anchor_epoch + unit.c.window_seconds))
                 .group_by(unit.c.delivery_id, unit.c.campaign_id, unit.c.customer_id,
                           unit.c.arm, unit.c.anchor, unit.c.window_seconds))
    if first_per_customer:
        statement = statement.where(unit.c.rank == 1)
    return [ArmUnit(delivery_id=int(row.delivery_id), campaign_id=int(row.campaign_id),
                    customer_id=int(row.customer_id), arm=str(row.arm), anchor=row.anchor,
                    window_end=row.anchor + timedelta(seconds=int(row.window_seconds)),
                    orders=int(row.orders), gmv_fen=int(row.gmv))
            for row in session.execute(statement)]


@dataclass
class ArmTotals:
    units: int = 0
    conversions: int = 0
    gmv_fen: int = 0

    @property
    def rate(self) -> float:
        return self.conversions / self.units if self.units else 0.0


@dataclass
class Tally:
    """Both arms' totals and the units per local day of their anchor."""

    treated: ArmTotals = field(default_factory=ArmTotals)
    holdout: ArmTotals = field(default_factory=ArmTotals)
    daily: dict[str, dict[str, int]] = field(default_factory=dict)

    def days(self) -> list[dict[str, Any]]:
        return [{"day": day, **values} for day, values in sorted(self.daily.items())]


def tally(units: Iterable[ArmUnit]) -> Tally:
    found = Tally()
    for unit in units:
        totals = found.treated if unit.arm == TREATED_ARM else found.holdout
        totals.units += 1
        totals.conversions += 1 if unit.converted else 0
        totals.gmv_fen += unit.gmv_fen
        day = to_local(unit.anchor).date().isoformat()
        entry = found.daily.setdefault(day, {"treated": 0, "treated_conversions": 0,
                                             "holdout": 0, "holdout_conversions": 0})
        entry[unit.arm] += 1
        entry[f"{unit.arm}_conversions"] += 1 if unit.converted else 0
    return found


@dataclass(frozen=True)
class Comparison:
    """Treated against holdout: the uplift of the conversion rate with its 95% interval and
    the incremental GMV (the holdout's GMV scaled to the treated count; 0 without holdout)."""

    uplift: float
    uplift_low: float
    uplift_high: float
    incremental_gmv_fen: int


def compare(found: Tally) -> Comparison:
    treated, holdout = found.treated, found.holdout
    difference, low, high = newcombe_interval(treated.conversions, treated.units,
                                              holdout.conversions, holdout.units)
    incremental = (treated.gmv_fen - round(holdout.gmv_fen * treated.units / holdout.units)
                   if holdout.units else 0)
    return Comparison(uplift=float(difference), uplift_low=float(low),
                      uplift_high=float(high), incremental_gmv_fen=incremental)


def arm_fields(found: Tally) -> dict[str, Any]:
    """The fields of both arms a results shape shows (``schemas.ArmsRead``)."""
    return {"treated": found.treated.units, "treated_conversions": found.treated.conversions,
            "holdout": found.holdout.units, "holdout_conversions": found.holdout.conversions,
            "treated_rate": found.treated.rate, "holdout_rate": found.holdout.rate,
            "treated_gmv_fen": found.treated.gmv_fen, "holdout_gmv_fen": found.holdout.gmv_fen,
            "daily": found.days()}


def roi(incremental_gmv_fen: int, cost_fen: int) -> float | None:
    return (incremental_gmv_fen - cost_fen) / cost_fen if cost_fen else None


def staff_cost_fen(session: Session, campaign: Campaign) -> int:
    """Staff time of the campaign's sent deliveries at its hourly cost."""
    sent = int(session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.campaign_id == campaign.id,
        Delivery.status == DeliveryStatus.SENT.value)) or 0)
    return round(sent * campaign.staff_seconds_per_delivery
                 * campaign.staff_cost_fen_per_hour / 3600)


def campaign_results(session: Session, *, actor: Principal, campaign_id: int) -> UpliftRead:
    access_service.require(actor, policy.READ)
    campaign = get_campaign(session, campaign_id=campaign_id)
    found = tally(arm_units(session, campaign_ids=[campaign.id]))
    compared = compare(found)
    coupon_cost = int(session.scalar(
        select(func.coalesce(func.sum(Coupon.discount_fen), 0))
        .join(Delivery, Delivery.coupon_code == Coupon.code)
        .where(Delivery.campaign_id == campaign.id,
               Coupon.status == CouponStatus.REDEEMED.value)) or 0)
    staff_cost = staff_cost_fen(session, campaign)
    cost = coupon_cost + staff_cost
    return UpliftRead(
        **arm_fields(found), uplift=compared.uplift, uplift_low=compared.uplift_low,
        uplift_high=compared.uplift_high, incremental_gmv_fen=compared.incremental_gmv_fen,
        coupon_cost_fen=coupon_cost, staff_cost_fen=staff_cost, cost_fen=cost,
        roi=roi(compared.incremental_gmv_fen, cost),
        attribution_days=campaign.attribution_days)
