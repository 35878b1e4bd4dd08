"""The demo merchant's offers: membership tiers (for the regrading job), a threshold coupon
claimed and partly redeemed, a top-up plan with top-ups and charges — a few hundred of each,
through the offers service (so the ledger, stock and history are the real ones), whatever
the size of the demo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.offers import service as offers
from yutang.offers.models import ClaimSource, CouponKind
from yutang.offers.schemas import (
    ChargeIn,
    ClaimIn,
    CouponTemplateCreate,
    MembershipTierCreate,
    RedemptionIn,
    TopUpIn,
    TopUpPlanCreate,
)
from yutang.pool.models import Order

TRUTH = "offers"
"""The planted truth row: how many of each were planted."""
TIERS = (("normal", "普通", 0, 0), ("silver", "银卡", 1, 100_000), ("gold", "金卡", 2, 500_000),
         ("black", "黑金", 3, 2_000_000))
"""(code, name, rank, trailing-12-month spend in fen)."""
COUPON_THRESHOLD_FEN = 10_000
COUPON_DISCOUNT_FEN = 1_000
CLAIMS = 300
REDEMPTIONS = 120
TOP_UPS = 100
TOP_UP_PAY_FEN, TOP_UP_BONUS_FEN = 500_000, 50_000
CHARGES = 60
CHARGE_FEN = 8_800


@dataclass(frozen=True)
class OffersPlanted:
    tiers: int
    claims: int
    redemptions: int
    top_ups: int
    charges: int

    def as_truth(self) -> dict[str, int]:
        return {"tiers": self.tiers, "claims": self.claims, "redemptions": self.redemptions,
                "top_ups": self.top_ups, "charges": self.charges}


def plant_offers(session: Session, *, actor: Principal) -> OffersPlanted:
    """Tiers, then coupons and stored value for the first customers with a
    paid order of at least the coupon's threshold (in order id order: deterministic)."""
    for code, name, rank, spend in TIERS:
        _succeed(offers.create_tier(session, actor=actor, data=MembershipTierCreate(
            idempotency_key=f"demo-tier-{code}", code=code, name=name, rank=rank,
            min_spend_fen=spend)))
    # Members are graded by the regrading job (`yutang offers regrade`), not here: it reads
    # every customer's trailing year, minutes at a million customers.
    orders = _first_orders_of_distinct_customers(session, max(CLAIMS, TOP_UPS))
    template = _succeed(offers.create_template(session, actor=actor, data=CouponTemplateCreate(
        idempotency_key="demo-template-100-10", name="满100减10", kind=CouponKind.THRESHOLD,
        threshold_fen=COUPON_THRESHOLD_FEN, discount_fen=COUPON_DISCOUNT_FEN, stock=10_000,
        per_customer_limit=1, valid_days=30)))
    claims = redemptions = 0
    for number, (customer_id, order_id) in enumerate(orders[:CLAIMS]):
        coupon = _succeed(offers.claim(session, actor=actor, template_id=template["id"],
                                       data=ClaimIn(idempotency_key=f"demo-claim-{number}",
                                                    customer_id=customer_id,
                                                    source=ClaimSource.CAMPAIGN)))
        claims += 1
        if number < REDEMPTIONS:
            _succeed(offers.redeem(session, actor=actor, code=coupon["code"],
                                   data=RedemptionIn(idempotency_key=f"demo-redeem-{number}",
                                                     order_id=order_id)))
            redemptions += 1
    plan = _succeed(offers.create_plan(session, actor=actor, data=TopUpPlanCreate(
        idempotency_key="demo-plan-5000", name="充5000送500", pay_fen=TOP_UP_PAY_FEN,
        bonus_fen=TOP_UP_BONUS_FEN)))
    top_ups = charges = 0
    for number, (customer_id, order_id) in enumerate(orders[:TOP_UPS]):
        _succeed(offers.top_up(session, actor=actor, customer_id=customer_id, data=TopUpIn(
            idempotency_key=f"demo-top-up-{number}", amount_fen=TOP_UP_PAY_FEN,
            plan_id=plan["id"])))
        top_ups += 1
        if number < CHARGES:
            _succeed(offers.charge(session, actor=actor, customer_id=customer_id, data=ChargeIn(
                idempotency_key=f"demo-charge-{number}", amount_fen=CHARGE_FEN,
                order_id=order_id)))
            charges += 1
    return OffersPlanted(tiers=len(TIERS), claims=claims, redemptions=redemptions,
                         top_ups=top_ups, charges=charges)


def _first_orders_of_distinct_customers(session: Session, count: int) -> list[tuple[int, int]]:
    """(customer id, order id) of the first paid or completed orders of at least the coupon
    threshold, one per customer."""
    found: dict[int, int] = {}
    rows = session.execute(
        select(Order.customer_id, Order.id)
        .where(Order.status.in_(("paid", "completed")), Order.customer_id.is_not(None),
               Order.total_fen >= COUPON_THRESHOLD_FEN)
        .order_by(Order.id).limit(count * 4)
    )
    for customer_id, order_id in rows:
        if customer_id is not None and customer_id not in found:
            found[customer_id] = order_id
            if len(found) == count:
                break
    return list(found.items())


def _succeed(outcome: offers.Outcome) -> dict[str, Any]:
    if not outcome.succeeded:
        raise RuntimeError(f"the demo's offers could not be planted: {outcome.body}")
    return outcome.body
