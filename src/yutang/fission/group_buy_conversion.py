"""The bait-to-full-price path (99 → 1,500): who bought at the bait price and later bought at
full price, and how soon.

A *bait buyer* of a deal is a customer holding a seat of one of its succeeded teams (members
of failed teams were refunded: they bought nothing). Their *bait time* is their first such
order. A *full order* is a later paid or completed order outside group-buy that bought the
deal's product at or above its list price, or paid at least the deal's
``full_order_threshold_fen``. A buyer *converted* if a full order came after their bait time;
*days to full* runs from the bait order to the first full order. Customers are counted after
OneID merges (a merged person's seats and orders are one customer's).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import group_buy_repository as repository
from yutang.fission.group_buy import get_deal
from yutang.fission.group_buy_schemas import ConversionRead, ConvertedBuyer

WITHIN_DAYS = (7, 30, 90)
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class FullPrice:
    """What makes an order a full-price order for a deal."""

    sku: str
    list_price_fen: int
    threshold_fen: int | None


@dataclass(frozen=True)
class BaitPurchase:
    customer_id: int
    order_id: int
    at: datetime
    full_price: FullPrice


@dataclass(frozen=True)
class FullPurchase:
    order_id: int
    at: datetime


def first_full_orders(session: Session,
                      baits: Iterable[BaitPurchase]) -> dict[BaitPurchase, FullPurchase]:
    """For each bait purchase, the customer's first full order after it (if any)."""
    by_rule: dict[FullPrice, list[BaitPurchase]] = {}
    for bait in baits:
        by_rule.setdefault(bait.full_price, []).append(bait)
    found: dict[BaitPurchase, FullPurchase] = {}
    for rule, group in by_rule.items():
        orders: dict[int, list[tuple[int, datetime]]] = {}
        for customer_id, order_id, at in repository.full_orders_of(
                session, {bait.customer_id for bait in group}, sku=rule.sku,
                list_price_fen=rule.list_price_fen, threshold_fen=rule.threshold_fen):
            orders.setdefault(customer_id, []).append((order_id, at))
        for bait in group:
            later = next(((order_id, at) for order_id, at in orders.get(bait.customer_id, [])
                          if at > bait.at), None)
            if later is not None:
                found[bait] = FullPurchase(order_id=later[0], at=later[1])
    return found


def days_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / SECONDS_PER_DAY, 3)


def deal_conversion(session: Session, *, actor: Principal, deal_id: int,
                    limit: int = 500) -> ConversionRead:
    """The conversion report of one deal; ``buyers`` lists the first ``limit`` bait buyers."""
    access_service.require(actor, Permission.ANALYTICS_READ)
    deal = get_deal(session, deal_id=deal_id)
    rule = FullPrice(sku=deal.product_sku, list_price_fen=deal.list_price_fen,
                     threshold_fen=deal.full_order_threshold_fen)
    firsts: dict[int, BaitPurchase] = {}
    for customer_id, order_id, at in repository.bait_orders_of_deal(session, deal.id):
        firsts.setdefault(customer_id, BaitPurchase(customer_id, order_id, at, rule))
    baits = sorted(firsts.values(), key=lambda bait: (bait.at, bait.customer_id))
    full = first_full_orders(session, baits)
    return _report(deal.id, baits, full, limit)


def _report(deal_id: int, baits: Sequence[BaitPurchase],
            full: dict[BaitPurchase, FullPurchase], limit: int) -> ConversionRead:
    days = [days_between(bait.at, full[bait].at) for bait in baits if bait in full]
    buyers = []
    for bait in baits[:limit]:
        purchase = full.get(bait)
        buyers.append(ConvertedBuyer(
            customer_id=bait.customer_id, bait_order_id=bait.order_id, bait_at=bait.at,
            full_order_id=purchase.order_id if purchase else None,
            full_at=purchase.at if purchase else None,
            days_to_full=days_between(bait.at, purchase.at) if purchase else None))
    return ConversionRead(
        deal_id=deal_id, bait_buyers=len(baits), converted=len(days),
        conversion_rate=round(len(days) / len(baits), 4) if baits else None,
        median_days_to_full=round(statistics.median(days), 3) if days else None,
        mean_days_to_full=round(statistics.fmean(days), 3) if days else None,
        converted_within_days={str(window): sum(1 for value in days if value <= window)
                               for window in WITHIN_DAYS},
        buyers=buyers)
