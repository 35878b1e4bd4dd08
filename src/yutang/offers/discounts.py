"""What a coupon is worth on an order, in integer fen (pure arithmetic, no database).

**The rounding rule.** Only the discount kind (折扣) divides: its discount is
``base × (10000 − rate_bp) ÷ 10000`` rounded **down** to the whole fen (integer floor
division), then capped by ``cap_fen``. The customer never gets more than the exact rate, and
pays at most one fen less than "price × rate" rounded half-up would charge. Everything
else is a whole number of fen to begin with.

**The base.** A coupon applies to the amount of the order's lines in its SKU scope (the
whole order when the scope names no SKU), less what coupons already redeemed on the order
took off; no coupon takes an order below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from yutang.offers.models import CouponKind

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price_fen: int
    amount_fen: int


@dataclass(frozen=True)
class OfferTerms:
    kind: CouponKind
    threshold_fen: int = 0
    discount_fen: int = 0
    rate_bp: int | None = None
    cap_fen: int | None = None
    gift_sku: str | None = None
    add_on_sku: str | None = None
    add_on_price_fen: int | None = None
    bundle_skus: tuple[str, ...] = ()
    bundle_price_fen: int | None = None
    skus: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Benefit:
    discount_fen: int
    gift_sku: str | None = None


class NotApplicable(Exception):
    """Why the coupon does not apply: ``below_threshold``, ``item_missing``, ``no_discount``."""

    def __init__(self, reason: str, **details: int | str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def discount_at_rate(base_fen: int, rate_bp: int, cap_fen: int | None = None) -> int:
    """The discount of paying ``rate_bp``/10000 of ``base_fen``, rounded down, capped."""
    if not 0 < rate_bp < BASIS_POINTS or base_fen < 0:
        raise ValueError("rate_bp is in (0, 10000) and the base is not negative")
    discount = base_fen * (BASIS_POINTS - rate_bp) // BASIS_POINTS
    return discount if cap_fen is None else min(discount, cap_fen)


def benefit(
    terms: OfferTerms,
    *,
    lines: Sequence[OrderLine],
    order_total_fen: int,
    already_discounted_fen: int = 0,
) -> Benefit:
    """The benefit of ``terms`` on the order, or ``NotApplicable``."""
    payable = max(0, order_total_fen - already_discounted_fen)
    eligible = (sum(line.amount_fen for line in lines if line.sku in terms.skus)
                if terms.skus else order_total_fen)
    base = min(eligible, payable)
    if base < terms.threshold_fen:
        raise NotApplicable("below_threshold", threshold_fen=terms.threshold_fen,
                            base_fen=base)
    prices = {line.sku: line.unit_price_fen for line in lines if line.quantity > 0}
    if terms.kind is CouponKind.THRESHOLD:
        discount = terms.discount_fen
    elif terms.kind is CouponKind.DISCOUNT:
        assert terms.rate_bp is not None
        discount = discount_at_rate(base, terms.rate_bp, terms.cap_fen)
    elif terms.kind is CouponKind.GIFT:
        return Benefit(discount_fen=0, gift_sku=terms.gift_sku)
    elif terms.kind is CouponKind.ADD_ON:
        assert terms.add_on_sku is not None and terms.add_on_price_fen is not None
        if terms.add_on_sku not in prices:
            raise NotApplicable("item_missing", sku=terms.add_on_sku)
        discount = max(0, prices[terms.add_on_sku] - terms.add_on_price_fen)
    else:
        assert terms.bundle_price_fen is not None
        missing = [sku for sku in terms.bundle_skus if sku not in prices]
        if missing:
            raise NotApplicable("item_missing", sku=missing[0])
        full_price = sum(prices[sku] for sku in terms.bundle_skus)
        discount = max(0, full_price - terms.bundle_price_fen)
    return Benefit(discount_fen=min(discount, payable))
