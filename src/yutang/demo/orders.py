"""Planned orders and their items, following the planted buying behaviour.

Purchases (the BG/NBD transactions) are the orders that were paid: ``completed``, ``paid``
(not yet delivered at the observation end) or ``refunded``. On top of them a few carts were
abandoned: ``closed`` orders (``created`` if still open at the observation end), which are
not transactions. A share of the customers acquired through groups, referrals and ads bought
a low-price bait product (引流品) first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yutang.demo.behaviour import (
    OrderValueModel,
    PurchaseProcess,
    draw_customer_spend_rates,
    draw_order_totals,
    simulate_repeat_purchases,
)
from yutang.demo.catalog import PRODUCTS, ChannelPlan
from yutang.demo.customers import (
    NO_STORE,
    AcquisitionWindow,
    CustomerPlan,
    IdentityPlan,
)
from yutang.demo.draws import (
    HOUR_SECONDS,
    MINUTE_SECONDS,
    MISSING,
    WEEK_SECONDS,
    BoolArray,
    IntegerArray,
    choose,
    happens,
    positions_within_segments,
    segment_starts,
)
from yutang.pool.models import IdentityKind, OrderStatus

SOURCES = ("pos", "mini_program", "app", "taobao", "jd", "douyin")
SOURCE_WEIGHTS = np.asarray((5.0, 3.0, 1.5, 4.0, 4.0, 3.0))
STORE_SOURCES = frozenset({"pos", "mini_program", "app"})
# The identity a customer needs to buy through a source (every source but the till).
SOURCE_IDENTITY = {
    "mini_program": "mini_program",
    "app": IdentityKind.APP_USER_ID.value,
    "taobao": IdentityKind.TAOBAO_ID.value,
    "jd": IdentityKind.JD_ID.value,
    "douyin": IdentityKind.DOUYIN_ID.value,
}
# The channel template an order of a source comes through (the till: the store's own code).
SOURCE_CHANNEL = {
    "pos": "STORE",
    "mini_program": "MINIPROGRAM",
    "app": "APP",
    "taobao": "TAOBAO",
    "jd": "JD",
    "douyin": "DOUYIN_SHOP",
}
EXTERNAL_ID_PREFIX = {
    "pos": "POS", "mini_program": "MP", "app": "APP", "taobao": "TB", "jd": "JD", "douyin": "DY",
}
# Where customers of each acquisition channel prefer to buy.
HOME_SOURCE = {
    "WECOM": "pos", "GROUP": "mini_program", "STORE": "pos", "OA": "mini_program",
    "MINIPROGRAM": "mini_program", "APP": "app", "REFERRAL": "mini_program", "TAOBAO": "taobao",
    "JD": "jd", "DOUYIN_SHOP": "douyin", "DOUYIN_ADS": "douyin", "MOMENTS_ADS": "mini_program",
}
FIRST_ORDER_HOME_BOOST = 50.0
REPEAT_ORDER_HOME_BOOST = 3.0

# Share of the customers of a channel whose first order was a bait product.
BAIT_FIRST_ORDER_SHARE = {"GROUP": 0.5, "REFERRAL": 0.5, "DOUYIN_ADS": 0.5, "MOMENTS_ADS": 0.5}
BAIT_PRODUCT_WEIGHTS = {"BT-001": 0.6, "BT-002": 0.3, "BT-003": 0.1}
PUBLIC_BAIT_SKU = "BT-001"

ABANDONED_CART_SHARE = 0.03
REFUND_SHARE = 0.025
COUPON_SHARE = 0.25
COUPON_TIERS = ((19_900, 3_000), (9_900, 1_000), (4_900, 500))
"""(order total at least, discount) in fen: 满199减30, 满99减10, 满49减5."""
ITEM_COUNT_WEIGHTS = (0.78, 0.15, 0.05, 0.02)
SINGLE_ITEM_BELOW_FEN = 1_000
ORDER_CLOSES_AFTER = 30 * MINUTE_SECONDS

STATUSES = tuple(status.value for status in OrderStatus)


@dataclass(frozen=True)
class OrderPlan:
    """Orders in the order they were placed; instants in UTC seconds, ``MISSING`` if absent."""

    customer: IntegerArray
    source: IntegerArray
    """Index into ``SOURCES``."""
    channel: IntegerArray
    store: IntegerArray
    status: IntegerArray
    """Index into ``STATUSES``."""
    total_fen: IntegerArray
    discount_fen: IntegerArray
    ordered_at: IntegerArray
    paid_at: IntegerArray
    completed_at: IntegerArray
    refunded_at: IntegerArray
    closed_at: IntegerArray

    @property
    def count(self) -> int:
        return len(self.customer)

    @property
    def paid_fen(self) -> IntegerArray:
        paid: IntegerArray = self.total_fen - self.discount_fen
        return paid

    def external_ids(self, first_number: int, start: int, stop: int) -> list[str]:
        """The platform's order numbers of orders ``start:stop`` (unique per source)."""
        prefixes = np.asarray([EXTERNAL_ID_PREFIX[source] for source in SOURCES])
        numbers = np.arange(first_number + start, first_number + stop).astype(str)
        ids: list[str] = np.strings.add(
            prefixes[self.source[start:stop]], np.strings.zfill(numbers, 10)
        ).tolist()
        return ids


@dataclass(frozen=True)
class ItemPlan:
    order: IntegerArray
    """Index into the orders; the items of an order are consecutive."""
    product: IntegerArray
    """Index into ``PRODUCTS``."""
    quantity: IntegerArray
    unit_price_fen: IntegerArray
    amount_fen: IntegerArray

    @property
    def count(self) -> int:
        return len(self.order)


@dataclass(frozen=True)
class _Placed:
    """Orders before their details: whose, when, and whether a purchase or a first one."""

    customer: IntegerArray
    ordered_at: IntegerArray
    paid_at: IntegerArray
    is_first: BoolArray


def plan_orders(
    streams: list[np.random.Generator],
    *,
    customers: CustomerPlan,
    identities: IdentityPlan,
    channels: list[ChannelPlan],
    window: AcquisitionWindow,
    process: PurchaseProcess,
    values: OrderValueModel,
) -> tuple[OrderPlan, ItemPlan]:
    """Orders and items of all customers; ``streams`` are independent generators (six)."""
    timing, carts, sources, amounts, items, fulfilment = streams
    placed = _place_orders(timing, carts, customers, window, process)
    source = _draw_sources(sources, placed, customers, identities)
    bait = _bait_products(amounts, placed, customers, source)
    spend_rates = draw_customer_spend_rates(amounts, customers.count, values)
    total = draw_order_totals(amounts, spend_rates[placed.customer], values)
    total = np.where(bait >= 0, _product_prices()[np.maximum(bait, 0)], total)
    item_plan = _plan_items(items, total, bait, platform=~np.isin(source, _store_sources()))
    store = np.where(np.isin(source, _store_sources()), customers.store[placed.customer],
                     NO_STORE)
    discount = np.where(bait >= 0, 0, _coupon_discounts(amounts, total))
    return (
        OrderPlan(
            customer=placed.customer,
            source=source,
            channel=_order_channels(placed, customers, channels, source, store),
            store=store,
            total_fen=total,
            discount_fen=discount,
            ordered_at=placed.ordered_at,
            paid_at=placed.paid_at,
            **_fulfil(fulfilment, placed, source, window),
        ),
        item_plan,
    )


def _place_orders(
    timing: np.random.Generator,
    carts: np.random.Generator,
    customers: CustomerPlan,
    window: AcquisitionWindow,
    process: PurchaseProcess,
) -> _Placed:
    """Purchases by the BG/NBD process, plus abandoned carts, sorted by the time ordered."""
    count = customers.count
    first_paid = np.minimum(
        customers.acquired_at + timing.integers(200, 900, count), window.end - 1
    )
    observed_weeks = (window.end - first_paid) / WEEK_SECONDS
    repeats = simulate_repeat_purchases(timing, observed_weeks, process)
    repeat_paid = first_paid[repeats.customer] + np.floor(
        repeats.weeks_after_first * WEEK_SECONDS
    ).astype(np.int64)
    buyer = np.concatenate((np.arange(count, dtype=np.int64), repeats.customer))
    paid_at = np.concatenate((first_paid, repeat_paid))
    ordered_at = np.maximum(paid_at - timing.integers(5, 180, len(paid_at)),
                            customers.acquired_at[buyer])
    abandoned = np.flatnonzero(happens(carts, ABANDONED_CART_SHARE, len(paid_at)))
    abandoned_at = np.maximum(
        ordered_at[abandoned] - carts.integers(10 * MINUTE_SECONDS, 48 * HOUR_SECONDS,
                                               len(abandoned)),
        customers.acquired_at[buyer[abandoned]],
    )
    placed_order = np.argsort(np.concatenate((ordered_at, abandoned_at)), kind="stable")
    return _Placed(
        customer=np.concatenate((buyer, buyer[abandoned]))[placed_order],
        ordered_at=np.concatenate((ordered_at, abandoned_at))[placed_order],
        paid_at=np.concatenate((paid_at, np.full(len(abandoned), MISSING)))[placed_order],
        is_first=np.concatenate(
            (np.arange(len(paid_at)) < count, np.zeros(len(abandoned), dtype=bool))
        )[placed_order],
    )


def _store_sources() -> IntegerArray:
    return np.asarray([SOURCES.index(source) for source in STORE_SOURCES])


def _product_prices() -> IntegerArray:
    return np.asarray([product.price_fen for product in PRODUCTS], dtype=np.int64)


def _draw_sources(
    rng: np.random.Generator,
    placed: _Placed,
    customers: CustomerPlan,
    identities: IdentityPlan,
) -> IntegerArray:
    """Where each order was placed: among the sources the customer can use, home first."""
    usable = np.empty((customers.count, len(SOURCES)), dtype=bool)
    for position, name in enumerate(SOURCES):
        usable[:, position] = (
            customers.store != NO_STORE
            if name == "pos"
            else identities.holders[SOURCE_IDENTITY[name]]
        )
    home = customers.by_acquisition(
        {key: SOURCES.index(source) for key, source in HOME_SOURCE.items()}, 0
    )
    weights = SOURCE_WEIGHTS * usable[placed.customer]
    boost = np.where(placed.is_first, FIRST_ORDER_HOME_BOOST, REPEAT_ORDER_HOME_BOOST)
    rows = np.arange(placed.customer.size)
    weights[rows, home[placed.customer]] *= boost
    cumulative = np.cumsum(weights, axis=1)
    if (cumulative[:, -1] <= 0).any():
        raise RuntimeError("a demo customer has no source to buy through")
    threshold = rng.random(len(rows)) * cumulative[:, -1]
    source: IntegerArray = (cumulative <= threshold[:, None]).sum(axis=1)
    return source


def _bait_products(
    rng: np.random.Generator, placed: _Placed, customers: CustomerPlan, source: IntegerArray
) -> IntegerArray:
    """The bait product of first orders that were bait purchases, ``-1`` for other orders."""
    share = customers.by_acquisition(BAIT_FIRST_ORDER_SHARE, 0.0)
    wanted = placed.is_first & happens(rng, share[placed.customer], placed.customer.size)
    skus = [product.sku for product in PRODUCTS]
    bait_index = np.asarray([skus.index(sku) for sku in BAIT_PRODUCT_WEIGHTS])
    drawn = bait_index[choose(rng, list(BAIT_PRODUCT_WEIGHTS.values()), placed.customer.size)]
    private_only = np.asarray([product.is_private_only for product in PRODUCTS])
    on_platform = ~np.isin(source, _store_sources())
    drawn = np.where(private_only[drawn] & on_platform, skus.index(PUBLIC_BAIT_SKU), drawn)
    bait: IntegerArray = np.where(wanted, drawn, -1)
    return bait


def _coupon_discounts(rng: np.random.Generator, total: IntegerArray) -> IntegerArray:
    """Threshold coupons (满减) on a share of the orders."""
    discount = np.zeros(len(total), dtype=np.int64)
    for threshold, amount in reversed(COUPON_TIERS):
        discount[total >= threshold] = amount
    used: IntegerArray = np.where(happens(rng, COUPON_SHARE, len(total)), discount, 0)
    return used


def _order_channels(
    placed: _Placed,
    customers: CustomerPlan,
    channels: list[ChannelPlan],
    source: IntegerArray,
    store: IntegerArray,
) -> IntegerArray:
    """First orders come through the acquisition channel; later ones through their source's
    (an order at the till through the store's own code)."""
    code_index = {channel.code: index for index, channel in enumerate(channels)}
    by_source = np.asarray(
        [-1 if name == "pos" else code_index[SOURCE_CHANNEL[name]] for name in SOURCES]
    )
    till_channels = [
        (channel.store_index, index)
        for index, channel in enumerate(channels)
        if channel.template.key == SOURCE_CHANNEL["pos"]
    ]
    by_store = np.zeros(len(till_channels), dtype=np.int64)
    for store_index, channel_index in till_channels:
        by_store[store_index] = channel_index
    later = np.where(
        source == SOURCES.index("pos"), by_store[np.maximum(store, 0)], by_source[source]
    )
    channel: IntegerArray = np.where(placed.is_first, customers.channel[placed.customer], later)
    return channel


def _fulfil(
    rng: np.random.Generator, placed: _Placed, source: IntegerArray, window: AcquisitionWindow
) -> dict[str, IntegerArray]:
    """Status and transition times; nothing happens at or after the observation end."""
    count = placed.customer.size
    purchase = placed.paid_at != MISSING
    at_till = source == SOURCES.index("pos")
    delivery = np.where(
        at_till,
        rng.integers(0, 120, count),
        rng.integers(6 * HOUR_SECONDS, 72 * HOUR_SECONDS, count),
    )
    delivered = placed.paid_at + delivery
    refunded = delivered + rng.integers(HOUR_SECONDS, 72 * HOUR_SECONDS, count)
    refund = purchase & happens(rng, REFUND_SHARE, count) & (refunded < window.end)
    completed = purchase & (delivered < window.end)
    closed = placed.ordered_at + ORDER_CLOSES_AFTER
    is_closed = ~purchase & (closed < window.end)
    status = np.select(
        [refund, completed, purchase, is_closed],
        [STATUSES.index(value) for value in ("refunded", "completed", "paid", "closed")],
        default=STATUSES.index("created"),
    )
    return {
        "status": status,
        "completed_at": np.where(completed, delivered, MISSING),
        "refunded_at": np.where(refund, refunded, MISSING),
        "closed_at": np.where(is_closed, closed, MISSING),
    }


def _plan_items(
    rng: np.random.Generator, total: IntegerArray, bait: IntegerArray, *, platform: BoolArray
) -> ItemPlan:
    """1–4 items per order whose amounts add up to the order total exactly.

    Every item but the last is ``quantity × unit price`` of its share of the total (fresh
    produce is priced by weight, so unit prices vary around the list price); the last item is
    one unit of whatever remains.
    """
    orders = len(total)
    count = 1 + choose(rng, ITEM_COUNT_WEIGHTS, orders)
    count[(total < SINGLE_ITEM_BELOW_FEN) | (bait >= 0)] = 1
    order = np.repeat(np.arange(orders, dtype=np.int64), count)
    items = len(order)
    starts = segment_starts(count)
    is_last = positions_within_segments(count) == count[order] - 1
    popularity = np.asarray([product.popularity for product in PRODUCTS], dtype=np.float64)
    public = popularity * ~np.asarray([product.is_private_only for product in PRODUCTS])
    product = np.where(platform[order], choose(rng, public, items), choose(rng, popularity, items))
    product = np.where(bait[order] >= 0, bait[order], product)
    list_price = _product_prices()[product]
    weight = 0.5 + rng.random(items)
    share = total[order] * weight / np.add.reduceat(weight, starts)[order]
    quantity = np.maximum(1, np.rint(share / list_price)).astype(np.int64)
    unit_price = np.floor(share / quantity).astype(np.int64)
    amount = quantity * unit_price
    others = np.add.reduceat(np.where(is_last, 0, amount), starts)
    amount[is_last] = total - others
    quantity[is_last] = 1
    unit_price[is_last] = amount[is_last]
    return ItemPlan(
        order=order, product=product, quantity=quantity, unit_price_fen=unit_price,
        amount_fen=amount,
    )
