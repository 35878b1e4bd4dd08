"""The bait-to-full-price path: who bought at the bait price, who later bought at full price,
how soon — and the orders that must not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tests.fission.group_buy_support import SYSTEM, full_price_order, make_deal, make_shop
from yutang.fission import group_buy
from yutang.fission.group_buy_conversion import deal_conversion
from yutang.kit.clock import set_now_source
from yutang.pool.models import OrderStatus

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_conversion_counts_later_full_price_orders_of_bait_buyers_only(db: Session) -> None:
    set_now_source(lambda: T0)
    _, customers = make_shop(db, 9)
    a, b, c, d, e, f, g, h, _ = customers
    deal = make_deal(db, full_order_threshold_fen=100_000)
    for group in ([a, b, c], [d, e, f], [g, h]):
        team = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                                   leader_customer_id=group[0].id)
        for customer in group[1:]:
            group_buy.join_team(db, actor=SYSTEM, team_id=team.id, customer_id=customer.id)
    group_buy.expire_teams(db, now=T0 + timedelta(hours=2))  # g and h are refunded

    full_price_order(db, a, at=T0 + 10 * DAY, sku="PHOTO-SET", unit_price_fen=150_000)
    full_price_order(db, b, at=T0 + 3 * DAY, sku="PHOTO-SET", unit_price_fen=90_000)  # cheap
    full_price_order(db, c, at=T0 + 20 * DAY, sku="FRAME", unit_price_fen=100_000)  # threshold
    full_price_order(db, d, at=T0 - 5 * DAY, sku="PHOTO-SET", unit_price_fen=150_000)  # before
    full_price_order(db, e, at=T0 + 2 * DAY, sku="PHOTO-SET", unit_price_fen=150_000,
                     status=OrderStatus.REFUNDED)
    full_price_order(db, f, at=T0 + 40 * DAY, sku="PHOTO-SET", unit_price_fen=150_000)
    full_price_order(db, f, at=T0 + 50 * DAY, sku="PHOTO-SET", unit_price_fen=150_000)
    full_price_order(db, g, at=T0 + 1 * DAY, sku="PHOTO-SET", unit_price_fen=150_000)
    full_price_order(db, e, at=T0 + 4 * DAY, sku="PHOTO-SET", unit_price_fen=150_000,
                     source="group_buy")

    report = deal_conversion(db, actor=SYSTEM, deal_id=deal.id)
    assert (report.bait_buyers, report.converted) == (6, 3)
    assert report.conversion_rate == 0.5
    converted = {buyer.customer_id: buyer.days_to_full for buyer in report.buyers
                 if buyer.full_order_id is not None}
    assert converted == {a.id: 10.0, c.id: 20.0, f.id: 40.0}
    assert report.median_days_to_full == 20.0
    assert report.mean_days_to_full == round(70 / 3, 3)
    assert report.converted_within_days == {"7": 0, "30": 2, "90": 3}
    assert {buyer.customer_id for buyer in report.buyers} == {a.id, b.id, c.id, d.id, e.id,
                                                              f.id}
