"""A small pool with known numbers for the analytics tests (as of 2026-11-01, Shanghai).

Customers (store, channel, acquired; paid orders) and what they must come out as:
- c1: S1, wecom, 2026-09-05; paid 09-05 100 yuan, 10-20 200 yuan (+ 30 yuan through c7)
  → active
- c2: S1, douyin, 2026-10-25; paid 10-25 50 yuan, viewed, carted, checked out, paid,
  completed within an hour → new
- c3: S2, douyin, 2025-10-01; paid 2025-10-01 30 yuan, 2026-10-15 70 yuan → won back
- c4: S2, wecom, 2026-01-10; paid 01-10 and 06-01, 40 yuan each → at risk
- c5: S1, wecom, 2025-12-01; paid 2025-12-01 10 yuan → lost
- c6: S1, no channel, 2026-10-28; viewed only → new, prospect
- c7: merged into c1 (wecom, 2026-09-20); its order paid 2026-10-01 30 yuan stays on c7's id
- c8: S2, douyin, 2026-10-02; paid 10-03 80 yuan, refunded 10-05 → new, prospect
Spend: wecom 2026-09 100 yuan, 2026-10 200 yuan; douyin 2026-10 900 yuan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from tests.support.factories import make_store, make_user
from yutang.access.roles import Role
from yutang.org.models import Store
from yutang.pool.models import Channel, ChannelSpend, Customer, Event, Order, OrderStatus

AS_OF = date(2026, 11, 1)


def local(day: str, hour: int = 12, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    moment = datetime.fromisoformat(day).replace(hour=hour, minute=minute)
    return (moment - timedelta(hours=8)).replace(tzinfo=UTC)


@dataclass
class PoolData:
    stores: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    staff_id: int = 0


def _customer(session: Session, data: PoolData, name: str, *, store: str | None,
              channel: str | None, acquired: str, staff: bool = False) -> Customer:
    customer = Customer(store_id=data.stores[store] if store else None,
                        acquisition_channel_id=data.channels[channel] if channel else None,
                        acquisition_staff_id=data.staff_id if staff else None,
                        acquired_at=local(acquired, 9))
    session.add(customer)
    session.flush()
    data.customers[name] = customer.id
    return customer


def add_order(session: Session, data: PoolData, name: str, *, customer: str, paid: str,
              fen: int, store: str | None = None, channel: str | None = None,
              completed: datetime | None = None, refunded: str | None = None) -> Order:
    paid_at = local(paid)
    status = OrderStatus.REFUNDED if refunded else (
        OrderStatus.COMPLETED if completed else OrderStatus.PAID)
    order = Order(source="pos" if store else "mini_program", external_order_id=name,
                  customer_id=data.customers[customer],
                  store_id=data.stores[store] if store else None,
                  channel_id=data.channels[channel] if channel else None, status=status.value,
                  total_fen=fen, paid_fen=fen, ordered_at=paid_at - timedelta(minutes=5),
                  paid_at=paid_at, completed_at=completed,
                  refunded_at=local(refunded) if refunded else None)
    session.add(order)
    session.flush()
    data.orders[name] = order.id
    return order


def build_pool(session: Session) -> PoolData:
    data = PoolData()
    data.stores = {code: make_store(session, code).id for code in ("S1", "S2")}
    data.staff_id = make_user(session, "s1_guide", Role.STAFF,
                              store=session.get_one(Store, data.stores["S1"])).id
    for code, domain, kind in (("WECOM", "private", "wecom"), ("DOUYIN", "paid", "douyin")):
        channel = Channel(code=code, name=code.title(), kind=kind, domain=domain)
        session.add(channel)
        session.flush()
        data.channels[code] = channel.id
    session.add_all([
        ChannelSpend(channel_id=data.channels["WECOM"], month=date(2026, 9, 1), amount_fen=10_000),
        ChannelSpend(channel_id=data.channels["WECOM"], month=date(2026, 10, 1),
                     amount_fen=20_000),
        ChannelSpend(channel_id=data.channels["DOUYIN"], month=date(2026, 10, 1),
                     amount_fen=90_000),
    ])
    _customer(session, data, "c1", store="S1", channel="WECOM", acquired="2026-09-05",
              staff=True)
    _customer(session, data, "c2", store="S1", channel="DOUYIN", acquired="2026-10-25")
    _customer(session, data, "c3", store="S2", channel="DOUYIN", acquired="2025-10-01")
    _customer(session, data, "c4", store="S2", channel="WECOM", acquired="2026-01-10")
    _customer(session, data, "c5", store="S1", channel="WECOM", acquired="2025-12-01")
    _customer(session, data, "c6", store="S1", channel=None, acquired="2026-10-28")
    c7 = _customer(session, data, "c7", store="S1", channel="WECOM", acquired="2026-09-20")
    _customer(session, data, "c8", store="S2", channel="DOUYIN", acquired="2026-10-02")
    add_order(session, data, "o1", customer="c1", paid="2026-09-05", fen=10_000, store="S1",
              channel="WECOM")
    add_order(session, data, "o2", customer="c1", paid="2026-10-20", fen=20_000,
              completed=local("2026-10-22"))
    add_order(session, data, "o3", customer="c2", paid="2026-10-25", fen=5_000,
              channel="DOUYIN", completed=local("2026-10-25", 12, 30))
    add_order(session, data, "o4", customer="c3", paid="2025-10-01", fen=3_000, store="S2")
    add_order(session, data, "o5", customer="c3", paid="2026-10-15", fen=7_000, store="S2")
    add_order(session, data, "o6", customer="c4", paid="2026-01-10", fen=4_000, store="S2")
    add_order(session, data, "o7", customer="c4", paid="2026-06-01", fen=4_000, store="S2")
    add_order(session, data, "o8", customer="c5", paid="2025-12-01", fen=1_000, store="S1")
    add_order(session, data, "o9", customer="c7", paid="2026-10-01", fen=3_000, store="S1")
    add_order(session, data, "o10", customer="c8", paid="2026-10-03", fen=8_000, store="S2",
              refunded="2026-10-05")
    c7.merged_into_id = data.customers["c1"]
    events = [
        ("e1", "view", "c2", local("2026-10-25", 11, 50), "DOUYIN"),
        ("e2", "add_to_cart", "c2", local("2026-10-25", 11, 52), "DOUYIN"),
        ("e3", "view", "c6", local("2026-10-28", 10), None),
        ("e4", "view", "c1", local("2026-10-20", 11), "WECOM"),
        ("e5", "add_to_cart", "c1", local("2026-10-20", 11, 1), "WECOM"),
        ("e6", "view", None, local("2026-10-21", 11), None),
    ]
    session.add_all(
        Event(event_id=event_id, type=kind,
              customer_id=data.customers[customer] if customer else None, occurred_at=at,
              channel_id=data.channels[channel] if channel else None)
        for event_id, kind, customer, at, channel in events)
    session.flush()
    return data
