"""The fen arithmetic of coupons and its rounding rule (pure, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yutang.offers.discounts import (
    Benefit,
    NotApplicable,
    OfferTerms,
    OrderLine,
    benefit,
    discount_at_rate,
)
from yutang.offers.models import CouponKind


def test_the_discount_is_rounded_down_to_the_fen() -> None:
    assert discount_at_rate(999, 8_500) == 149  # 149.85 → 149
    assert discount_at_rate(1_000, 8_500) == 150
    assert discount_at_rate(1, 9_999) == 0
    assert discount_at_rate(100_000, 5_000, cap_fen=2_000) == 2_000
    with pytest.raises(ValueError):
        discount_at_rate(100, 10_000)


@given(base=st.integers(min_value=0, max_value=10**10),
       rate=st.integers(min_value=1, max_value=9_999))
def test_the_customer_never_gets_more_than_the_exact_rate(base: int, rate: int) -> None:
    discount = discount_at_rate(base, rate)
    exact = base * (10_000 - rate) / 10_000
    assert discount <= exact < discount + 1


@given(total=st.integers(min_value=0, max_value=10**8),
       taken=st.integers(min_value=0, max_value=10**8),
       off=st.integers(min_value=1, max_value=10**8))
def test_no_coupon_takes_an_order_below_zero(total: int, taken: int, off: int) -> None:
    terms = OfferTerms(kind=CouponKind.THRESHOLD, threshold_fen=0, discount_fen=off)
    result = benefit(terms, lines=[], order_total_fen=total, already_discounted_fen=taken)
    assert 0 <= result.discount_fen <= max(0, total - taken)


def test_sku_scope_threshold_and_items() -> None:
    lines = [OrderLine("A", 2, 1_000, 2_000), OrderLine("B", 1, 3_000, 3_000)]
    scoped = OfferTerms(kind=CouponKind.THRESHOLD, threshold_fen=2_500, discount_fen=500,
                        skus=frozenset({"A"}))
    with pytest.raises(NotApplicable) as refused:
        benefit(scoped, lines=lines, order_total_fen=5_000)
    assert refused.value.reason == "below_threshold"
    rate = OfferTerms(kind=CouponKind.DISCOUNT, rate_bp=8_000, skus=frozenset({"B"}))
    assert benefit(rate, lines=lines, order_total_fen=5_000) == Benefit(600)
    gift = OfferTerms(kind=CouponKind.GIFT, threshold_fen=5_000, gift_sku="CAKE")
    assert benefit(gift, lines=lines, order_total_fen=5_000) == Benefit(0, "CAKE")
    add_on = OfferTerms(kind=CouponKind.ADD_ON, add_on_sku="B", add_on_price_fen=3_500)
    assert benefit(add_on, lines=lines, order_total_fen=5_000) == Benefit(0)
    bundle = OfferTerms(kind=CouponKind.BUNDLE, bundle_skus=("A", "B"), bundle_price_fen=3_500)
    assert benefit(bundle, lines=lines, order_total_fen=5_000) == Benefit(500)
