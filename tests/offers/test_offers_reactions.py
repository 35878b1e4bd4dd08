"""Offers reacts to what the pool commits, without waiting for the sweep: a contact added
through a channel code or a group join gets its welcome coupon once, and a coupon redeemed on
an order the pool then records as refunded goes back to its owner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import TEST_DATA_KEY
from tests.offers.support import key, seed, threshold_template
from tests.support.factories import make_user
from yutang.access.roles import Role
from yutang.offers.models import Coupon, CouponEvent
from yutang.pool.models import Order


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _event(event_id: str, kind: str, unionid: str, **properties: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": "2026-11-02T10:00:00+08:00",
            "identities": {"wechat_unionid": unionid}, "properties": properties}


def _welcome_coupons(db: Session) -> list[tuple[int, str]]:
    rows = db.execute(select(Coupon.customer_id, Coupon.source).where(
        Coupon.source == "welcome").order_by(Coupon.id))
    return [(int(customer_id), str(source)) for customer_id, source in rows]


def test_welcome_coupons_follow_contacts_and_group_joins_at_once(
    client: TestClient, db: Session
) -> None:
    store, api_key, _ = seed(db, customers=0)
    make_user(db, "li", Role.STAFF, store)
    headers = _headers(api_key)
    assert client.post("/api/v1/channels", headers=headers, json={
        "code": "WECOM-W", "name": "企微活码", "kind": "wecom", "domain": "private"}
    ).status_code == 201
    code = client.post("/api/v1/channel-codes", headers=headers, json={
        "channel_code": "WECOM-W", "store_code": store.code, "staff_username": "li"}).json()
    for body in (threshold_template(welcome_trigger="channel_code", name="加微信返5元",
                                    threshold_fen=0, discount_fen=500, stock=10),
                 threshold_template(welcome_trigger="group_join", kind="gift",
                                    gift_sku="SIDE-DISH", discount_fen=None, threshold_fen=0,
                                    name="进群送小菜")):
        assert client.post("/api/v1/coupon-templates", headers=headers,
                           json=body).status_code == 201

    plain = client.post("/api/v1/events", headers=headers, json={"events": [
        _event("v-1", "view", "U-quiet")]})
    assert plain.json()["accepted"] == 1
    assert _welcome_coupons(db) == []  # a view is no contact

    added = client.post("/api/v1/events", headers=headers, json={"events": [
        _event("c-1", "add_contact", "U-new", state=code["state"]),
        _event("c-2", "add_contact", "U-new", state=code["state"])]})
    assert added.json()["accepted"] == 2
    granted = _welcome_coupons(db)
    assert len(granted) == 1  # once, though the contact was reported twice
    customer_id = granted[0][0]

    joined = client.post("/api/v1/events", headers=headers, json={"events": [
        _event("g-1", "join_group", "U-new", group_id=7)]})
    assert joined.json()["accepted"] == 1
    assert _welcome_coupons(db) == [(customer_id, "welcome"), (customer_id, "welcome")]
    replay = client.post("/api/v1/events", headers=headers, json={"events": [
        _event("g-1", "join_group", "U-new", group_id=7)]})
    assert replay.json()["duplicates"] == 1
    assert len(_welcome_coupons(db)) == 2


def test_a_refund_reported_to_the_pool_releases_the_coupon_at_once(
    client: TestClient, db: Session
) -> None:
    store, api_key, _ = seed(db, customers=0)
    headers = _headers(api_key)
    customer = client.post("/api/v1/customers", headers=headers, json={
        "identities": {"phone": "13912340001"}, "store": store.code}).json()
    template = client.post("/api/v1/coupon-templates", headers=headers,
                           json=threshold_template()).json()
    coupon = client.post(f"/api/v1/coupon-templates/{template['id']}/claims", headers=headers,
                         json={"customer_id": customer["id"], "idempotency_key": key()}).json()
    order = {"source": "mall", "external_order_id": "M-1", "status": "paid",
             "ordered_at": "2026-11-02T10:00:00+08:00", "total_fen": 15_000,
             "paid_fen": 15_000, "store": store.code,
             "identities": {"phone": "13912340001"}}
    stored = client.post("/api/v1/orders", headers=headers, json={"orders": [order]})
    assert stored.json()["accepted"] == 1, stored.text
    order_id = db.scalars(select(Order.id).where(Order.external_order_id == "M-1")).one()
    redeemed = client.post(f"/api/v1/coupons/{coupon['code']}/redemptions", headers=headers,
                           json={"order_id": order_id, "idempotency_key": key()})
    assert redeemed.status_code == 201, redeemed.text

    still_paid = client.post("/api/v1/orders", headers=headers, json={"orders": [
        {**order, "status": "completed"}]})
    assert still_paid.json()["updated"] == 1
    assert _coupon_status(db, coupon["code"]) == "redeemed"  # completed keeps the coupon used

    refunded = client.post("/api/v1/orders", headers=headers, json={"orders": [
        {**order, "status": "refunded"}]})
    assert refunded.json()["updated"] == 1, refunded.text
    assert _coupon_status(db, coupon["code"]) == "available"
    assert db.scalar(select(func.count()).select_from(CouponEvent).where(
        CouponEvent.kind == "released")) == 1


def _coupon_status(db: Session, code: str) -> str:
    db.expire_all()
    return str(db.scalars(select(Coupon.status).where(Coupon.code == code)).one())


def test_reactions_commit_on_a_real_database_file_without_waiting_on_themselves(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """Through the app's own writer engine (on SQLite: writers take turns on a file lock, and
    the reaction runs while the ingesting request still holds its turn)."""
    from yutang.config import Settings
    from yutang.kit.db import create_engine, make_session_factory, unit_of_work
    from yutang.main import create_app

    engine = create_engine(fresh_database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        _, api_key, _ = seed(session, customers=0)
    settings = Settings(database_url=fresh_database_url, data_key=TEST_DATA_KEY,
                        data_key_file=tmp_path / "unused.key")
    with TestClient(create_app(settings, engine=engine)) as client:
        headers = _headers(api_key)
        assert client.post("/api/v1/coupon-templates", headers=headers, json=threshold_template(
            welcome_trigger="group_join", threshold_fen=0, discount_fen=300, name="进群红包",
        )).status_code == 201
        joined = client.post("/api/v1/events", headers=headers, json={"events": [
            _event("j-1", "join_group", "U-file", group_id=3)]})
        assert joined.json()["accepted"] == 1
    with unit_of_work(make_session_factory(engine)) as session:
        assert len(_welcome_coupons(session)) == 1
    engine.dispose()
