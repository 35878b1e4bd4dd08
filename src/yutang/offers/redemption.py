"""Redeeming coupons against orders, once: the hottest write of offers, decided for a batch of
requests at a time (a batch of one included).

A wave of requests naming distinct orders and distinct coupons is decided on one read — the
orders, their rows locked first on PostgreSQL, with what their coupons already took off;
the coupons and their templates — and written in one statement (``redemption_repository``):
the conditional ``available → redeemed`` UPDATEs, the coupons' timeline rows and each
success's outcome on its idempotency record. Nothing is written for a refusal, so it leaves
nothing to roll back (``idempotency.run_idempotent_all``). Requests on an order or a coupon
already in the wave wait for the next wave, in the same transaction, and are decided on what
the first one did.

The UPDATE re-checks what the read was made for; when it does not redeem a coupon (redeemed
on another order by a concurrent transaction meanwhile) the request is read again in the next
wave — fresh, now that its order's lock is held — and the refusal, or the redemption,
decided on that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import utcnow
from yutang.kit.errors import DomainError
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
    CouponView,
    OrderState,
    RedemptionWrite,
    TemplateView,
    coupons_by_code,
    lock_orders,
    order_id_by_reference,
    order_lines,
    redeem_and_record,
)
from yutang.offers.schemas import CouponRead, RedemptionRead
from yutang.pool.models import OrderStatus

REDEEMABLE_ORDER_STATES = frozenset({OrderStatus.CREATED.value, OrderStatus.PAID.value,
                                     OrderStatus.COMPLETED.value})
ATTEMPTS = 3
"""Reads a request is decided on at most: the UPDATE refuses only what a concurrent
transaction changed, and the next read, under the order's lock, sees that change."""
SUCCESS_STATUS = 201


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    """One redemption to decide: who asks, the coupon's code (normalised), the order (yutang's
    id, or the merchant's number and optionally its source), and the idempotency record the
    outcome goes on."""

    actor: Principal
    code: str
    order_id: int | None
    source: str | None
    external_order_id: str | None
    record_id: int


def redeem_all(session: Session, requests: Sequence[RedemptionRequest]) -> list[Outcome]:
    """Each request's outcome: 201 and the redemption (its outcome stored on its record), or
    the refusal as a domain error's status and payload (nothing written)."""
    outcomes: dict[int, Outcome] = {}
    targets: dict[int, int] = {}
    for index, request in enumerate(requests):
        try:
            access_service.require(request.actor, Permission.OFFERS_OPERATE)
            targets[index] = _target(session, request)
        except DomainError as refusal:
            outcomes[index] = _refused(refusal)
    reads: Counter[int] = Counter()
    pending = list(targets)
    while pending:
        wave, pending = _distinct_wave(pending, requests, targets)
        orders = lock_orders(session, {targets[index] for index in wave})
        coupons = coupons_by_code(session, {requests[index].code for index in wave})
        now = utcnow()
        writes: dict[int, RedemptionWrite] = {}
        for index in wave:
            request = requests[index]
            try:
                writes[index] = _decide(session, request, orders.get(targets[index]),
                                        coupons.get(request.code), now)
            except DomainError as refusal:
                outcomes[index] = _refused(refusal)
        redeemed = redeem_and_record(session, list(writes.values()), now=now,
                                     status_code=SUCCESS_STATUS)
        for index, write in writes.items():
            reads[index] += 1
            if write.coupon_id in redeemed:
                outcomes[index] = Outcome(SUCCESS_STATUS, write.response)
            elif reads[index] < ATTEMPTS:
                pending.append(index)
            else:
                code = requests[index].code
                outcomes[index] = _refused(CouponAlreadyRedeemed(
                    f"the coupon {code} was redeemed", code=code))
    return [outcomes[index] for index in range(len(requests))]


def _refused(refusal: DomainError) -> Outcome:
    return Outcome(refusal.status, refusal.as_payload())


def _target(session: Session, request: RedemptionRequest) -> int:
    """The id of the request's order (by the merchant's number: read now); refused when no
    single order has that number."""
    if request.order_id is not None:
        return request.order_id
    assert request.external_order_id is not None
    found = order_id_by_reference(session, source=request.source,
                                  external_order_id=request.external_order_id)
    if found is None:
        raise CouponNotApplicable("a coupon is redeemed against an order yutang knows",
                                  reason="unknown_order")
    return found


def _distinct_wave(indexes: list[int], requests: Sequence[RedemptionRequest],
                   targets: dict[int, int]) -> tuple[list[int], list[int]]:
    """The requests (in order) on an order and a coupon no earlier one in the wave names,
    and the others, for a later wave."""
    orders: set[int] = set()
    codes: set[str] = set()
    wave: list[int] = []
    later: list[int] = []
    for index in indexes:
        order_id, code = targets[index], requests[index].code
        if order_id in orders or code in codes:
            later.append(index)
            continue
        orders.add(order_id)
        codes.add(code)
        wave.append(index)
    return wave, later


def _decide(session: Session, request: RedemptionRequest, state: OrderState | None,
            found: tuple[CouponView, TemplateView] | None, now: datetime) -> RedemptionWrite:
    """The write that redeems the coupon, or the refusal (raised)."""
    actor = request.actor
    if state is None or not visible_to(actor, state.order.store_id):
        if request.order_id is not None:
            raise OrderNotFound(f"no order {request.order_id}", order_id=request.order_id)
        raise OrderNotFound(f"no order {request.external_order_id}",
                            external_order_id=request.external_order_id)
    if found is None:
        raise CouponNotFound(f"no coupon {request.code}", code=request.code)
    coupon, template = found
    require_holder_visible(session, actor=actor, code=request.code,
                           customer_id=coupon.customer_id)
    raise_unless_available(coupon.status, coupon.valid_until, coupon.order_id, now)
    benefit = _benefit(session, state, coupon, template, now)
    order_id = state.order.id
    response = RedemptionRead(
        coupon=CouponRead(
            id=coupon.id, code=coupon.code, template_id=coupon.template_id,
            template_name=template.name, kind=template.kind,
            customer_id=coupon.customer_id, status=CouponStatus.REDEEMED.value,
            source=coupon.source, valid_from=coupon.valid_from,
            valid_until=coupon.valid_until, claimed_at=coupon.claimed_at,
            order_id=order_id, discount_fen=benefit.discount_fen, redeemed_at=now),
        order_id=order_id, discount_fen=benefit.discount_fen, gift_sku=benefit.gift_sku,
    ).model_dump(mode="json")
    return RedemptionWrite(
        coupon_id=coupon.id, order_id=order_id, discount_fen=benefit.discount_fen,
        seen_discounted_fen=state.discounted_on_order_fen,
        exclusive=template.stacking == Stacking.EXCLUSIVE.value, actor_name=actor.name,
        details={"gift_sku": benefit.gift_sku} if benefit.gift_sku else {},
        record_id=request.record_id, response=response)


def _benefit(session: Session, state: OrderState, coupon: CouponView, template: TemplateView,
             now: datetime) -> discounts.Benefit:
    def refuse(reason: str, **details: Any) -> CouponNotApplicable:
        return CouponNotApplicable(f"the coupon does not apply to this order ({reason})",
                                   reason=reason, **details)

    order = state.order
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
    if state.redeemed_on_order and (template.stacking == Stacking.EXCLUSIVE.value
                                    or state.exclusive_on_order):
        raise refuse("stacking")
    terms = terms_of(template)
    needs_lines = bool(terms.skus) or terms.kind in (CouponKind.ADD_ON, CouponKind.BUNDLE)
    lines = [discounts.OrderLine(sku=sku, quantity=quantity, unit_price_fen=unit_price,
                                 amount_fen=amount)
             for sku, quantity, unit_price, amount in order_lines(session, order.id)
             ] if needs_lines else []
    try:
        return discounts.benefit(terms, lines=lines, order_total_fen=order.total_fen,
                                 already_discounted_fen=state.discounted_on_order_fen)
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
