"""POST /api/v1/orders: idempotent, moving forward through the states with their times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import make_api_key, make_store
from yutang.access.roles import Role
from yutang.pool.models import Customer, Order, OrderItem


def _order(external_id: str, status: str = "created", **fields: Any) -> dict[str, Any]:
    return {
        "source": "mini_program", "external_order_id": external_id, "status": status,
        "identities": {"wechat_unionid": "U-buyer"}, "ordered_at": "2026-10-01T10:00:00+08:00",
        "items": [{"sku": "APPLE-5KG", "quantity": 2, "unit_price_fen": 3990},
                  {"sku": "BAG", "quantity": 1, "unit_price_fen": 100, "amount_fen": 100}],
        **fields,
    }


def _post(client: TestClient, headers: dict[str, str], *orders: Any) -> dict[str, Any]:
    response = client.post("/api/v1/orders", json={"orders": list(orders)}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_order_moves_forward_and_keeps_each_transition_time(
    client: TestClient, db: Session
) -> None:
    make_store(db, "SH01")
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    created = _post(client, headers, _order("A1", store="SH01", discount_fen=80))
    assert created == {"accepted": 1, "updated": 0, "duplicates": 0, "rejected": []}
    row = db.scalars(select(Order)).one()
    assert (row.total_fen, row.discount_fen, row.paid_fen) == (8080, 80, 8000)
    assert sum(item.amount_fen for item in db.scalars(select(OrderItem))) == 8080
    assert row.customer_id is not None and row.resolved_value_id is not None

    paid = _post(client, headers, _order("A1", "paid", paid_at="2026-10-01T10:05:00+08:00"))
    assert (paid["updated"], paid["duplicates"]) == (1, 0)
    completed = _post(client, headers, _order("A1", "completed",
                                              completed_at="2026-10-03T18:00:00+08:00"))
    assert completed["updated"] == 1
    late_paid = _post(client, headers, _order("A1", "paid"))
    assert (late_paid["updated"], late_paid["duplicates"]) == (0, 1)
    db.expire_all()
    row = db.scalars(select(Order)).one()
    assert row.status == "completed"
    assert row.paid_at == datetime(2026, 10, 1, 2, 5, tzinfo=UTC)
    assert row.completed_at == datetime(2026, 10, 3, 10, 0, tzinfo=UTC)
    assert row.refunded_at is None and row.closed_at is None
    refunded = _post(client, headers, _order("A1", "refunded"))
    assert refunded["updated"] == 1
    closed = _post(client, headers, _order("A1", "closed"))
    assert [item["code"] for item in closed["rejected"]] == ["invalid_transition"]
    db.expire_all()
    assert db.scalars(select(Order.status)).one() == "refunded"
    assert db.scalar(select(func.count()).select_from(Order)) == 1
    assert db.scalar(select(func.count()).select_from(Customer)) == 1


def test_bad_orders_are_rejected_one_by_one(client: TestClient, db: Session) -> None:
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    body = _post(
        client, headers,
        _order("ok-1"),
        _order("bad-total", total_fen=1),
        _order("bad-date", ordered_at="2026-13-01T00:00:00+08:00"),
        _order("bad-status", status="shipped"),
        _order("bad-channel", channel="nope"),
        _order("bad-kind", identities={"email": "a@b.c"}),
        {"source": "pos"},
        _order("ok-2", status="paid"),
    )
    assert body["accepted"] == 2
    assert [(item["index"], item["code"]) for item in body["rejected"]] == [
        (1, "order_total_mismatch"), (2, "invalid_order"), (3, "invalid_order"),
        (4, "channel_not_found"), (5, "unknown_identity_kind"), (6, "invalid_order"),
    ]
    paid = db.scalars(select(Order).where(Order.external_order_id == "ok-2")).one()
    assert paid.paid_at == datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    assert db.scalar(select(func.count()).select_from(Order)) == 2


def test_a_batch_that_merges_keeps_its_orders_on_the_survivor(
    client: TestClient, db: Session
) -> None:
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    _post(client, headers, _order("o-1", identities={"wechat_unionid": "U-one"}),
          _order("o-2", identities={"phone": "13912345002"}))
    loser = db.scalars(select(Order.customer_id).where(Order.external_order_id == "o-2")).one()
    answer = _post(client, headers,
                   _order("o-3", identities={"phone": "13912345002"}),
                   _order("o-4", identities={"wechat_unionid": "U-one", "phone": "13912345002"}))
    assert answer["accepted"] == 2 and answer["rejected"] == []
    live = db.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None))).all()
    assert len(live) == 1 and live[0] != loser
    owners = {row[0]: row[1] for row in db.execute(select(Order.external_order_id,
                                                          Order.customer_id))}
    assert owners == {"o-1": live[0], "o-2": live[0], "o-3": live[0], "o-4": live[0]}
