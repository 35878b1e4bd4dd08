"""A referred customer's first order moves their edge to first_order by itself: at once when
the pool announces the order, and through the sweep's durable cursor when that announcement
is lost — an order paid later included; an order before the click never counts; running
the sweep again moves nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.fission.referral_support import Api, shop
from yutang.fission import referral_service
from yutang.fission.models import FissionCursor, WatchedOrder
from yutang.fission.referral_reactions import settle_first_orders
from yutang.kit.signals import subscribe, unsubscribe
from yutang.pool.models import Order
from yutang.pool.signals import ORDERS_CHANGED


def _customer(api: Api, store_code: str, phone: str) -> int:
    response = api.post("/customers", {"identities": {"phone": phone}, "store": store_code})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


def _order(api: Api, store_code: str, phone: str, number: str, *, status: str = "paid",
           ordered_at: str = "2026-11-10T10:00:00+08:00") -> dict[str, Any]:
    body = {"source": "mall", "external_order_id": number, "status": status,
            "ordered_at": ordered_at, "total_fen": 9_900, "paid_fen": 9_900,
            "store": store_code, "identities": {"phone": phone}}
    stored = api.post("/orders", {"orders": [body]}).json()
    assert stored["accepted"] + stored.get("updated", 0) == 1, stored
    return body


def _edge(api: Api, edge_id: int) -> dict[str, Any]:
    return dict(api.get(f"/referrals/{edge_id}"))


@pytest.fixture
def signal_lost() -> Iterator[None]:
    """The fast path is missed (a crash between the pool's commit and the reaction)."""
    unsubscribe(ORDERS_CHANGED, settle_first_orders)
    try:
        yield
    finally:
        subscribe(ORDERS_CHANGED, settle_first_orders)


def test_the_first_order_moves_the_edge_at_once(client: TestClient, db: Session) -> None:
    store, api, (alice, *_) = shop(db, client, customers=1)
    friend = _customer(api, store.code, "13912345601")
    edge = api.refer(api.code_of(alice.id), friend, status="joined",
                     at="2026-11-01T10:00:00+08:00", expect=201).json()
    _order(api, store.code, "13912345601", "M-1")
    moved = _edge(api, edge["id"])
    order_id = db.scalars(select(Order.id).where(Order.external_order_id == "M-1")).one()
    assert (moved["status"], moved["first_order_id"]) == ("first_order", order_id)
    assert moved["first_order_at"].startswith("2026-11-10T02:00:00")
    assert moved["joined_at"] == edge["joined_at"]  # each step keeps its time
    _order(api, store.code, "13912345601", "M-2", ordered_at="2026-11-12T10:00:00+08:00")
    assert _edge(api, edge["id"])["first_order_id"] == order_id  # the first stays first


def test_an_order_before_the_click_is_not_a_referral_order(client: TestClient,
                                                           db: Session) -> None:
    store, api, (alice, *_) = shop(db, client, customers=1)
    friend = _customer(api, store.code, "13912345602")
    _order(api, store.code, "13912345602", "OLD-1", ordered_at="2026-10-01T10:00:00+08:00")
    edge = api.refer(api.code_of(alice.id), friend, at="2026-11-01T10:00:00+08:00",
                     expect=201).json()
    _order(api, store.code, "13912345602", "OLD-1", status="completed",
           ordered_at="2026-10-01T10:00:00+08:00")
    assert _edge(api, edge["id"])["status"] == "clicked"
    referral_service.sweep(db)
    assert _edge(api, edge["id"])["status"] == "clicked"


def test_the_sweep_catches_up_on_a_lost_signal_and_an_order_paid_later(
    client: TestClient, db: Session, signal_lost: None
) -> None:
    store, api, (alice, *_) = shop(db, client, customers=1)
    paid_friend = _customer(api, store.code, "13912345603")
    later_friend = _customer(api, store.code, "13912345604")
    code = api.code_of(alice.id)
    paid_edge = api.refer(code, paid_friend, at="2026-11-01T10:00:00+08:00",
                          expect=201).json()
    later_edge = api.refer(code, later_friend, at="2026-11-01T10:00:00+08:00",
                           expect=201).json()
    _order(api, store.code, "13912345603", "P-1")
    unpaid = _order(api, store.code, "13912345604", "U-1", status="created")
    assert _edge(api, paid_edge["id"])["status"] == "clicked"  # nothing reacted

    first = referral_service.sweep(db)
    assert first.first_orders == 1
    assert _edge(api, paid_edge["id"])["status"] == "first_order"
    assert _edge(api, later_edge["id"])["status"] == "clicked"
    unpaid_id = db.scalars(select(Order.id).where(Order.external_order_id == "U-1")).one()
    assert db.scalars(select(WatchedOrder.order_id)).all() == [unpaid_id]
    cursor = db.scalars(select(FissionCursor.position).where(
        FissionCursor.name == "orders")).one()
    assert cursor >= unpaid_id

    api.post("/orders", {"orders": [{**unpaid, "status": "paid"}]}, expect=200)
    second = referral_service.sweep(db)
    assert (second.orders_read, second.first_orders) == (0, 1)  # found through the watch
    assert _edge(api, later_edge["id"])["status"] == "first_order"
    db.expire_all()
    assert db.scalars(select(WatchedOrder.order_id)).all() == []
    third = referral_service.sweep(db)
    assert (third.orders_read, third.first_orders, third.rewards_granted) == (0, 0, 0)
