"""The demo merchant's campaign with a known uplift: a segment (customers tagged for a weekend
launch), approved content, a one-off WeCom 1:1 campaign with a 20% holdout planned by the
real planner (consent, reachability and holdout decided in SQL), its deliveries marked sent,
and conversions — orders in the attribution window — drawn with known rates for the treated
(8%) and the holdout (5%). yutang's results for that campaign must find the planted counts
exactly and cover the planted uplift (3 points) with their 95% interval
(``planted_truth.campaigns``).

The tagged customers are ones the demo's purchase plan gives no order in the attribution
window, so the planted rates are the arms' true rates (an organic order would add to both).
The campaign's orders carry the source ``campaign_demo`` and stay few (at most 5% of the pool
is tagged, so about 0.4% of the customers buy through it): the demo's BG/NBD planted truth is
checked on the other orders.

``launch_campaign`` (audience, segment, content, the planner, sends) and ``draw_conversions``
serve the campaigns that promote the demo's programmes too (``programmes_data``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import String, cast, exists, func, literal, select, update
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.campaigns import campaigns as campaign_service
from yutang.campaigns import content as content_service
from yutang.campaigns import segments as segment_service
from yutang.campaigns import service as campaigns_service
from yutang.campaigns.models import (
    AudienceKind,
    CampaignChannel,
    CampaignStatus,
    ContentCategory,
    Delivery,
    DeliveryStatus,
    ScheduleKind,
)
from yutang.campaigns.schedule import local_at
from yutang.campaigns.schemas import CampaignIn, ContentIn, SegmentIn
from yutang.campaigns.segment_rules import newest_consent
from yutang.kit.clock import to_local
from yutang.kit.sql import in_list
from yutang.pool.customer_actions import tag_customers
from yutang.pool.models import (
    Customer,
    Identity,
    IdentityKind,
    Order,
    OrderItem,
    OrderStatus,
    Product,
)

TRUTH = "campaigns"
ORDER_SOURCE = "campaign_demo"
TAG = "周末上新名单"
TREATED_RATE, HOLDOUT_RATE = 0.08, 0.05
HOLDOUT_SHARE = 0.2
ATTRIBUTION_DAYS = 7
DAYS_BEFORE_END = 22
"""The send is this many days before the observation end: the window closes before it."""
AUDIENCE_SHARE = 0.05
MAX_AUDIENCE = 2_000
UNCONSENTED_SHARE = 0.1
"""A tenth of the tagged customers never agreed to (or withdrew from) WeCom messages."""
MAX_LINES = 3
"""A converting order holds 1 to 3 of the demo's regular products, 1 or 2 of each."""


@dataclass(frozen=True)
class Launched:
    campaign_id: int
    segment_id: int
    content_id: int
    send_at: datetime
    tagged: int
    plan: dict[str, Any]


@dataclass(frozen=True)
class CampaignPlanted(Launched):
    arms: dict[str, int]

    def as_truth(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id, "segment_id": self.segment_id,
            "content_id": self.content_id, "tag": TAG, "tagged": self.tagged,
            "send_at": self.send_at.isoformat(), "attribution_days": ATTRIBUTION_DAYS,
            "holdout_share": HOLDOUT_SHARE, "order_source": ORDER_SOURCE,
            "treated_rate_planted": TREATED_RATE, "holdout_rate_planted": HOLDOUT_RATE,
            "uplift_planted": round(TREATED_RATE - HOLDOUT_RATE, 10),
            "plan": self.plan, **self.arms,
            "note": "treated = deliveries marked sent, holdout = held out by the planner; "
                    "a conversion is one order of source campaign_demo inside the window; "
                    "tagged customers have no other order in the window",
        }


@dataclass(frozen=True)
class LaunchSpec:
    """A demo campaign over a tagged audience: its names, copy and rules, and the programme
    it promotes (``demo.programmes_data``)."""

    tag: str
    description: str
    content_name: str
    body: str
    campaign_name: str
    holdout_share: float
    attribution_days: int
    promoted_task_id: int | None = None
    promoted_deal_id: int | None = None


def launch_campaign(session: Session, *, actor: Principal, rng: np.random.Generator,
                    send_at: datetime, spec: LaunchSpec) -> Launched:
    """Tag a drawn audience (``_audience``), make its segment, approved content and a one-off
    WeCom 1:1 campaign at ``send_at``, plan it with the real planner and mark its planned
    deliveries sent; the campaign ends completed."""
    window_end = send_at + timedelta(days=spec.attribution_days)
    chosen = _audience(session, rng, send_at=send_at, window_end=window_end)
    if chosen:
        tag_customers(session, actor=actor, customer_ids=chosen, tag_name=spec.tag,
                      source="demo")
    segment = segment_service.create_segment(session, actor=actor, data=SegmentIn(
        name=spec.tag, description=spec.description,
        rule={"all": [{"field": "tag", "op": "has", "value": [spec.tag]}]}))
    content = content_service.create_content(session, actor=actor, data=ContentIn(
        name=spec.content_name, category=ContentCategory.PROMOTION, body=spec.body))
    content_service.approve_content(session, actor=actor, content_id=content.id)
    campaign = campaign_service.create_campaign(session, actor=actor, data=CampaignIn(
        name=spec.campaign_name, channel=CampaignChannel.WECOM_SINGLE,
        audience_kind=AudienceKind.SEGMENT, segment_id=segment.id, content_id=content.id,
        schedule_kind=ScheduleKind.ONCE, send_at=send_at,
        holdout_share=spec.holdout_share, attribution_days=spec.attribution_days,
        staff_seconds_per_delivery=20, staff_cost_fen_per_hour=3_000,
        sender_userid="demo-hq", promoted_task_id=spec.promoted_task_id,
        promoted_deal_id=spec.promoted_deal_id))
    campaign_service.set_status(session, actor=actor, campaign_id=campaign.id,
                                status=CampaignStatus.ACTIVE)
    summaries = campaigns_service.plan_due(session, now=send_at - timedelta(hours=1))
    plan = summaries[0].model_dump(mode="json", include={"audience", "planned", "holdout",
                                                           "suppressed", "suppressed_by"})
    # As the sender would have sent it from the campaign's account: one WeCom task for
    # identical messages, one per customer when the text is personalised (operator load)
    personalised = content_service.per_customer_variables(
        content_service.variables_of(spec.body))
    message_ref: Any = (literal("demo-") + cast(Delivery.id, String) if personalised
                        else literal(f"demo-{campaign.id}"))
    session.execute(update(Delivery).where(
        Delivery.campaign_id == campaign.id,
        Delivery.status == DeliveryStatus.PLANNED.value).values(
        status=DeliveryStatus.SENT.value, sent_at=send_at, attempts=1,
        message_ref=message_ref, sender_userid=campaign.sender_userid))
    campaign_service.set_status(session, actor=actor, campaign_id=campaign.id,
                                status=CampaignStatus.COMPLETED)
    return Launched(campaign_id=campaign.id, segment_id=segment.id, content_id=content.id,
                    send_at=send_at, tagged=len(chosen), plan=plan)


def plant_campaigns(session: Session, *, actor: Principal, seed: int,
                    end: datetime) -> CampaignPlanted:
    """Plant the campaign sent ``DAYS_BEFORE_END`` days before ``end`` at 12:00 local and
    its conversions (all before ``end``)."""
    rng = np.random.default_rng([seed, 8_008])
    send_day = to_local(end).date() - timedelta(days=DAYS_BEFORE_END)
    spec = LaunchSpec(tag=TAG, description="门店导入的周末上新邀约名单",
                      content_name="周末上新提醒",
                      body="{name}您好，{store}本周末上新当季水果，到店出示消息立享会员价。",
                      campaign_name="周末上新提醒（演示）", holdout_share=HOLDOUT_SHARE,
                      attribution_days=ATTRIBUTION_DAYS)
    launched = launch_campaign(session, actor=actor, rng=rng,
                               send_at=local_at(send_day, "12:00"), spec=spec)
    arms = draw_conversions(session, rng, campaign_id=launched.campaign_id,
                            send_at=launched.send_at)
    return CampaignPlanted(**asdict(launched), arms=arms)


def _audience(session: Session, rng: np.random.Generator, *, send_at: datetime,
              window_end: datetime) -> list[int]:
    """A random share of the live customers acquired a month before the send, reachable on
    WeCom and with no order in the attribution window: mostly ones who agreed to WeCom
    messages, a tenth who did not (the planner suppresses those).

    Candidates are drawn in random order and checked a slice at a time, so that a pool of a
    million costs a few slices, not a pass of every customer's consents and orders."""
    pool_size = int(session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None))) or 0)
    wanted = min(int(pool_size * AUDIENCE_SHARE), MAX_AUDIENCE)
    unconsented_wanted = round(wanted * UNCONSENTED_SHARE)
    candidates = np.array(session.scalars(select(Customer.id).where(
        Customer.merged_into_id.is_(None), Customer.acquired_at < send_at - timedelta(days=30))
        .order_by(Customer.id)).all(), dtype=np.int64)
    shuffled = rng.permutation(candidates)
    reachable = exists().where(Identity.customer_id == Customer.id,
                               Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value)
    busy = exists().where(Order.customer_id == Customer.id, Order.ordered_at >= send_at,
                          Order.ordered_at < window_end)
    agreed: list[int] = []
    others: list[int] = []
    slice_size = max(4 * wanted, 1)
    for start in range(0, len(shuffled), slice_size):
        drawn = [int(customer_id) for customer_id in shuffled[start:start + slice_size]]
        granted_of: dict[int, bool | None] = {
            int(customer_id): granted for customer_id, granted in session.execute(
                select(Customer.id, newest_consent("wecom")).where(
                    in_list(Customer.id, drawn), reachable, ~busy))}
        for customer_id in drawn:  # in the drawn (random) order
            if customer_id in granted_of:
                (agreed if granted_of[customer_id] else others).append(customer_id)
        if len(agreed) >= wanted - unconsented_wanted and len(others) >= unconsented_wanted:
            break
    without = min(len(others), unconsented_wanted)
    return sorted(agreed[:wanted - without] + others[:without])


def draw_conversions(session: Session, rng: np.random.Generator, *, campaign_id: int,
                     send_at: datetime,
                     rates: tuple[float, float] = (TREATED_RATE, HOLDOUT_RATE),
                     source: str = ORDER_SOURCE,
                     attribution_days: int = ATTRIBUTION_DAYS) -> dict[str, int]:
    """Draw each treated and held-out customer's conversion with the planted rate (treated,
    holdout); a converting customer gets one completed order of ``source`` inside the
    window."""
    rows = session.execute(select(Delivery.customer_id, Delivery.status, Customer.store_id)
                           .join(Customer, Customer.id == Delivery.customer_id)
                           .where(Delivery.campaign_id == campaign_id,
                                  Delivery.status.in_((DeliveryStatus.SENT.value,
                                                       DeliveryStatus.HOLDOUT.value)))
                           .order_by(Delivery.id)).all()
    arms = {"treated": 0, "treated_conversions": 0, "treated_gmv_fen": 0,
            "holdout": 0, "holdout_conversions": 0, "holdout_gmv_fen": 0}
    products = session.execute(select(Product.sku, Product.price_fen).where(
        Product.is_bait.is_(False), Product.is_private_only.is_(False), Product.price_fen > 0)
        .order_by(Product.sku)).all()
    window_seconds = attribution_days * 86_400 - 3_600
    for number, (customer_id, status, store_id) in enumerate(rows):
        arm = "holdout" if status == DeliveryStatus.HOLDOUT.value else "treated"
        rate = rates[1] if arm == "holdout" else rates[0]
        arms[arm] += 1
        converts = rng.random() < rate
        delay = timedelta(seconds=int(rng.integers(600, window_seconds)))
        lines = [(products[int(index)], int(rng.integers(1, 3))) for index in rng.choice(
            len(products), size=int(rng.integers(1, MAX_LINES + 1)), replace=False)]
        if not converts:
            continue
        at = send_at + delay
        paid = sum(int(price) * quantity for (_, price), quantity in lines)
        order = Order(source=source, external_order_id=f"cd-{campaign_id}-{number}",
                      customer_id=customer_id, store_id=store_id,
                      status=OrderStatus.COMPLETED.value, total_fen=paid, paid_fen=paid,
                      ordered_at=at, paid_at=at, completed_at=at)
        session.add(order)
        session.flush()
        session.add_all(OrderItem(order_id=order.id, sku=sku, quantity=quantity,
                                  unit_price_fen=int(price),
                                  amount_fen=int(price) * quantity)
                        for (sku, price), quantity in lines)
        arms[f"{arm}_conversions"] += 1
        arms[f"{arm}_gmv_fen"] += paid
    session.flush()
    return arms
