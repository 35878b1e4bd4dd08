"""Results: conversions and GMV inside the attribution window, per arm, exactly; incremental
GMV, staff cost and ROI from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.campaigns.support import campaign, new_customer, new_store, order, segment
from tests.campaigns.test_suppression import _external, _send_all
from tests.support.factories import SYSTEM
from yutang.campaigns import results, service
from yutang.campaigns.models import Delivery
from yutang.campaigns.uplift import newcombe_interval
from yutang.connectors.wecom.client import WeComClient
from yutang.connectors.wecom.simulator import WeComSimulator

SEND = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


def test_results_count_orders_in_the_window_per_arm(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store = new_store(db)
    customers = [new_customer(db, store) for _ in range(30)]
    for customer in customers:
        simulator.add_customer(str(_external(db, customer)))
    sale = campaign(db, segment_id=segment(db, {"field": "store", "op": "eq",
                                                "value": store.id}).id,
                    send_at=SEND, holdout_share=0.5, attribution_days=7,
                    staff_seconds_per_delivery=36, staff_cost_fen_per_hour=6000)
    service.plan_due(db, now=SEND - timedelta(hours=1))
    _send_all(session_factory, client, SEND)
    arms = {row.customer_id: row.status for row in db.scalars(
        select(Delivery).where(Delivery.campaign_id == sale.id))}
    treated = [c for c in customers if arms[c.id] == "sent"]
    held = [c for c in customers if arms[c.id] == "holdout"]
    assert len(treated) + len(held) == 30 and len(treated) >= 6 and len(held) >= 4
    for customer in treated[:6]:  # inside the window
        order(db, customer, at=SEND + timedelta(days=2), paid_fen=10_000)
    order(db, treated[0], at=SEND + timedelta(days=3), paid_fen=5_000)  # a second order
    order(db, treated[6], at=SEND + timedelta(days=8), paid_fen=99_000)  # after the window
    order(db, treated[6], at=SEND - timedelta(hours=1), paid_fen=99_000)  # before the send
    for customer in held[:2]:
        order(db, customer, at=SEND + timedelta(days=1), paid_fen=8_000)
    read = results.campaign_results(db, actor=SYSTEM, campaign_id=sale.id)
    assert (read.treated, read.treated_conversions) == (len(treated), 6)
    assert (read.holdout, read.holdout_conversions) == (len(held), 2)
    assert (read.treated_gmv_fen, read.holdout_gmv_fen) == (65_000, 16_000)
    assert read.incremental_gmv_fen == 65_000 - round(16_000 * len(treated) / len(held))
    assert read.staff_cost_fen == round(len(treated) * 36 * 6000 / 3600)
    assert read.coupon_cost_fen == 0
    difference, low, high = newcombe_interval(6, len(treated), 2, len(held))
    assert (read.uplift, read.uplift_low, read.uplift_high) == (
        float(difference), float(low), float(high))
    assert read.roi == (read.incremental_gmv_fen - read.cost_fen) / read.cost_fen
    assert sum(day["treated"] for day in read.daily) == len(treated)
