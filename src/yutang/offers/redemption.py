"""Redeeming a coupon against an order, once: the hottest write of offers.

A redemption reads one view (the order, its row locked first on PostgreSQL, the coupon, its
template, what the order's coupons already took off), computes the benefit, and writes in one
statement — the conditional ``available → redeemed`` UPDATE, the coupon's timeline row and
the idempotency record's outcome (``redemption_repository``). Nothing is written before that
statement, so a refusal leaves nothing to roll back (``run_idempotent_atomic``).

The UPDATE re-checks what the view was read for; when it finds no row (a redemption on the
same order, or of the same coupon, committed meanwhile) the view is read again — fresh, now
that the order's lock is held — and the refusal, or the redemption, decided on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import utcnow
from yutang.offers import discounts
from yutang.offers.coupons import raise_unless_available, require_holder_visible
from yutang.offers.errors import (
    CouponAlreadyRedeemed,
    CouponNotApplicable,
    CouponNotFound,
    OrderNotFound,
)
from yutang.offers.idempotency import Outcome
from yutang.offers.lookups import visible_to
from yutang.offers.models import CouponKind, CouponStatus, Stacking
from yutang.offers.redemption_repository import (
    RedemptionView,
    TemplateView,
    order_lines,
    redeem_and_record,
    redemption_view,
)
from yutang.offers.schemas import CouponRead, RedemptionRead
from yutang.pool.models import OrderStatus

REDEEMABLE_ORDER_STATES = frozenset({OrderStatus.CREATED.value, OrderStatus.PAID.value,
                                     OrderStatus.COMPLETED.value})
ATTEMPTS = 3
"""Views read for one redemption: the first may predate the order's lock (PostgreSQL); the
next ones are fresh, and only a release on the order in between forces another."""


def redeem(
    session: Session,
    *,
    actor: Principal,
    code: str,
    order_id: int | None,
    source: str | None = None,
    external_order_id: str | None = None,
    record_id: int,
) -> Outcome:
    """Redeem the coupon against an order known to yutang, once; its outcome stored on the
    idempotency record ``record_id`` in the same statement."""
    access_service.require(actor, Permission.OFFERS_OPERATE)
    code = code.strip().upper()
    for _ in range(ATTEMPTS):
        view = redemption_view(session, code=code, order_id=order_id, source=source,
                               external_order_id=external_order_id)
        if view is None:
            if order_id is not None:
                raise OrderNotFound(f"no order {order_id}", order_id=order_id)
            raise CouponNotApplicable("a coupon is redeemed against an order yutang knows",
                                      reason="unknown_order")
        if not visible_to(actor, view.order.store_id):
            if order_id is not None:
                raise OrderNotFound(f"no order {order_id}", order_id=order_id)
            raise OrderNotFound(f"no order {external_order_id}",
                                external_order_id=external_order_id)
        coupon, template = view.coupon, view.template
        if coupon is None or template is None:
            raise CouponNotFound(f"no coupon {code}", code=code)
        require_holder_visible(session, actor=actor, code=code, customer_id=coupon.customer_id)
        now = utcnow()
        raise_unless_available(coupon.status, coupon.valid_until, coupon.order_id, now)
        benefit = _benefit(session, view, template, now)
        response = RedemptionRead(
            coupon=CouponRead(
                id=coupon.id, code=coupon.code, template_id=coupon.template_id,
                template_name=template.name, kind=template.kind,
                customer_id=coupon.customer_id, status=CouponStatus.REDEEMED.value,
                source=coupon.source, valid_from=coupon.valid_from,
                valid_until=coupon.valid_until, claimed_at=coupon.claimed_at,
                order_id=view.order.id, discount_fen=benefit.discount_fen, redeemed_at=now),
            order_id=view.order.id, discount_fen=benefit.discount_fen,
            gift_sku=benefit.gift_sku,
        ).model_dump(mode="json")
        if redeem_and_record(
                session, coupon_id=coupon.id, order_id=view.order.id,
                discount_fen=benefit.discount_fen, now=now,
                seen_discounted_fen=view.discounted_on_order_fen,
                exclusive=template.stacking == Stacking.EXCLUSIVE.value,
                actor_name=actor.name,
                details={"gift_sku": benefit.gift_sku} if benefit.gift_sku else {},
                record_id=record_id, status_code=201, response=response):
            return Outcome(201, response)
    raise CouponAlreadyRedeemed(f"the coupon {code} was redeemed", code=code)


def _benefit(session: Session, view: RedemptionView, template: TemplateView,
             now: datetime) -> discounts.Benefit:
    def refuse(reason: str, **details: Any) -> CouponNotApplicable:
        return CouponNotApplicable(f"the coupon does not apply to this order ({reason})",
                                   reason=reason, **details)

    order, coupon = view.order, view.coupon
    assert coupon is not None
    if coupon.valid_from > now:
        raise refuse("not_yet_valid", valid_from=coupon.valid_from.isoformat())
    if order.customer_id != coupon.customer_id:
        raise refuse("other_customer")
    if order.status not in REDEEMABLE_ORDER_STATES:
        raise refuse("order_status", order_status=order.status)
    scope = template.scope or {}
    if scope.get("store_ids") and order.store_id not in scope["store_ids"]:
        raise refuse("store_scope")
    if scope.get("channel_ids") and order.channel_id not in scope["channel_ids"]:
        raise refuse("channel_scope")
    if view.redeemed_on_order and (template.stacking == Stacking.EXCLUSIVE.value
                                   or view.exclusive_on_order):
        raise refuse("stacking")
    terms = terms_of(template)
    needs_lines = bool(terms.skus) or terms.kind in (CouponKind.ADD_ON, CouponKind.BUNDLE)
    lines = [discounts.OrderLine(sku=sku, quantity=quantity, unit_price_fen=unit_price,
                                 amount_fen=amount)
             for sku, quantity, unit_price, amount in order_lines(session, order.id)
             ] if needs_lines else []
    try:
        return discounts.benefit(terms, lines=lines, order_total_fen=order.total_fen,
                                 already_discounted_fen=view.discounted_on_order_fen)
    except discounts.NotApplicable as error:
        raise refuse(error.reason, **error.details) from error


def terms_of(template: TemplateView) -> discounts.OfferTerms:
    return discounts.OfferTerms(
        kind=CouponKind(template.kind), threshold_fen=template.threshold_fen,
        discount_fen=template.discount_fen, rate_bp=template.rate_bp, cap_fen=template.cap_fen,
        gift_sku=template.gift_sku, add_on_sku=template.add_on_sku,
        add_on_price_fen=template.add_on_price_fen, bundle_skus=tuple(template.bundle_skus),
        bundle_price_fen=template.bundle_price_fen,
        skus=frozenset((template.scope or {}).get("skus", [])),
    )
