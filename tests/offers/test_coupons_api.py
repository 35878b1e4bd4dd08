"""Coupons through the API on both backends: every kind, every error code, idempotent
replays, release on refund, expiry, voiding, store scoping and welcome offers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.offers.support import (
    issued_within_stock,
    key,
    make_customers,
    make_order,
    seed,
    threshold_template,
)
from tests.support.factories import SYSTEM, make_api_key, make_store
from yutang.access.roles import Role
from yutang.kit.clock import set_now_source, utcnow
from yutang.offers import service
from yutang.offers.models import Coupon, CouponEvent, WelcomeTrigger
from yutang.offers.schemas import CouponTemplateCreate
from yutang.pool.models import OrderStatus


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _template(client: TestClient, api_key: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/coupon-templates", json=threshold_template(**overrides),
                           headers=_headers(api_key))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _claim(client: TestClient, api_key: str, template_id: int, customer_id: int,
           idempotency_key: str | None = None) -> Any:
    return client.post(f"/api/v1/coupon-templates/{template_id}/claims",
                       json={"customer_id": customer_id,
                             "idempotency_key": idempotency_key or key("claim")},
                       headers=_headers(api_key))


def _redeem(client: TestClient, api_key: str, code: str, order_id: int,
            idempotency_key: str | None = None) -> Any:
    return client.post(f"/api/v1/coupons/{code}/redemptions",
                       json={"order_id": order_id,
                             "idempotency_key": idempotency_key or key("redeem")},
                       headers=_headers(api_key))


def _error(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_claim_and_redeem_a_threshold_coupon_once(client: TestClient, db: Session) -> None:
    store, api_key, (customer, *_) = seed(db)
    template = _template(client, api_key, stock=2)
    assert (template["stock"], template["issued"], template["remaining"]) == (2, 0, 2)
    claimed = _claim(client, api_key, template["id"], customer.id, "c-1")
    assert claimed.status_code == 201
    coupon = claimed.json()
    assert coupon["status"] == "available" and coupon["customer_id"] == customer.id
    order = make_order(db, customer, total_fen=12_000, store=store)

    redeemed = _redeem(client, api_key, coupon["code"], order.id, "r-1")
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["discount_fen"] == 2_000
    assert redeemed.json()["coupon"]["status"] == "redeemed"

    again = _redeem(client, api_key, coupon["code"], order.id, "r-2")
    assert (again.status_code, _error(again)) == (409, "coupon_already_redeemed")
    other_order = make_order(db, customer, total_fen=12_000, store=store)
    elsewhere = _redeem(client, api_key, coupon["code"], other_order.id, "r-3")
    assert (elsewhere.status_code, _error(elsewhere)) == (409, "coupon_already_redeemed")
    events = db.scalars(select(CouponEvent.kind).join(Coupon).where(
        Coupon.code == coupon["code"]).order_by(CouponEvent.id)).all()
    assert events == ["claimed", "redeemed"]
    read = client.get(f"/api/v1/coupon-templates/{template['id']}", headers=_headers(api_key))
    assert (read.json()["issued"], read.json()["redeemed"]) == (1, 1)


def test_replays_return_the_first_result_and_a_reused_key_is_refused(
    client: TestClient, db: Session
) -> None:
    _, api_key, (customer, other, _) = seed(db)
    template = _template(client, api_key, stock=1)
    first = _claim(client, api_key, template["id"], customer.id, "same-key")
    replay = _claim(client, api_key, template["id"], customer.id, "same-key")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert db.scalar(select(func.count()).select_from(Coupon)) == 1
    reused = _claim(client, api_key, template["id"], other.id, "same-key")
    assert (reused.status_code, _error(reused)) == (409, "idempotency_key_reused")
    # an error is a result too: its replay answers the same error, even once it would pass
    gone = _claim(client, api_key, template["id"], other.id, "late")
    assert (gone.status_code, _error(gone)) == (409, "coupon_out_of_stock")
    assert _claim(client, api_key, template["id"], other.id, "late").json() == gone.json()
    issued_within_stock(db)


def test_out_of_stock_and_claim_limit(client: TestClient, db: Session) -> None:
    _, api_key, (first, second, _) = seed(db)
    limited = _template(client, api_key, stock=10, per_customer_limit=2)
    assert _claim(client, api_key, limited["id"], first.id).status_code == 201
    assert _claim(client, api_key, limited["id"], first.id).status_code == 201
    third = _claim(client, api_key, limited["id"], first.id)
    assert (third.status_code, _error(third)) == (409, "coupon_claim_limit")
    assert _claim(client, api_key, limited["id"], second.id).status_code == 201

    scarce = _template(client, api_key, stock=1)
    assert _claim(client, api_key, scarce["id"], first.id).status_code == 201
    refused = _claim(client, api_key, scarce["id"], second.id)
    assert (refused.status_code, _error(refused)) == (409, "coupon_out_of_stock")
    assert db.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.customer_id == second.id, Coupon.template_id == scarce["id"])) == 0
    issued_within_stock(db)


def test_not_applicable_expired_voided_and_release_on_refund(
    client: TestClient, db: Session
) -> None:
    store, api_key, (customer, other, _) = seed(db)
    template = _template(client, api_key, threshold_fen=10_000, discount_fen=2_000, stock=None,
                         valid_days=7)
    small = make_order(db, customer, total_fen=9_999, store=store)
    coupon = _claim(client, api_key, template["id"], customer.id).json()
    below = _redeem(client, api_key, coupon["code"], small.id)
    assert (below.status_code, _error(below)) == (409, "coupon_not_applicable")
    assert below.json()["error"]["details"]["reason"] == "below_threshold"
    theirs = make_order(db, other, total_fen=20_000, store=store)
    assert _redeem(client, api_key, coupon["code"], theirs.id).json()["error"]["details"][
        "reason"] == "other_customer"
    missing = _redeem(client, api_key, coupon["code"], 10**9)
    assert (missing.status_code, _error(missing)) == (404, "order_not_found")
    unknown = _redeem(client, api_key, "NOSUCHCODE", small.id)
    assert (unknown.status_code, _error(unknown)) == (404, "coupon_not_found")
    assert db.scalar(select(func.count()).select_from(CouponEvent).where(
        CouponEvent.kind == "redeemed")) == 0

    order = make_order(db, customer, total_fen=15_000, store=store)
    assert _redeem(client, api_key, coupon["code"], order.id).status_code == 201
    order.status = OrderStatus.REFUNDED.value
    db.flush()
    swept = service.sweep(db, actor=SYSTEM)
    assert swept.coupons_released == 1
    db.refresh(db.scalars(select(Coupon).where(Coupon.code == coupon["code"])).one())
    reuse = make_order(db, customer, total_fen=15_000, store=store)
    assert _redeem(client, api_key, coupon["code"], reuse.id).status_code == 201
    released = client.post(f"/api/v1/coupons/{coupon['code']}/releases",
                           json={"idempotency_key": key()}, headers=_headers(api_key))
    assert released.status_code == 201 and released.json()["status"] == "available"
    not_redeemed = client.post(f"/api/v1/coupons/{coupon['code']}/releases",
                               json={"idempotency_key": key()}, headers=_headers(api_key))
    assert _error(not_redeemed) == "coupon_not_redeemed"

    voided = client.post(f"/api/v1/coupons/{coupon['code']}/voids",
                         json={"idempotency_key": key(), "reason": "test"},
                         headers=_headers(api_key))
    assert voided.json()["status"] == "voided"
    assert _error(_redeem(client, api_key, coupon["code"], reuse.id)) == "coupon_voided"

    later = _claim(client, api_key, template["id"], customer.id).json()
    now = utcnow()
    set_now_source(lambda: now + timedelta(days=8))
    expired = _redeem(client, api_key, later["code"], reuse.id)
    assert (expired.status_code, _error(expired)) == (409, "coupon_expired")
    assert service.sweep(db, actor=SYSTEM).coupons_expired >= 1
    assert client.get(f"/api/v1/coupons/{later['code']}",
                      headers=_headers(api_key)).json()["status"] == "expired"


def test_discount_gift_add_on_and_bundle_kinds(client: TestClient, db: Session) -> None:
    store, api_key, (customer, *_) = seed(db)
    cases = [
        ({"kind": "discount", "rate": 0.85, "cap_fen": 5_000, "threshold_fen": 0,
          "discount_fen": None}, 2_024, None),  # 13,498 × 15% = 2,024.7: rounded down
        ({"kind": "gift", "gift_sku": "CAKE", "threshold_fen": 10_000,
          "discount_fen": None}, 0, "CAKE"),
        ({"kind": "add_on", "add_on_sku": "JUICE", "add_on_price_fen": 100,
          "threshold_fen": 5_000, "discount_fen": None}, 1_400, None),
        ({"kind": "bundle", "bundle_skus": ["PEAR", "JUICE"], "bundle_price_fen": 2_999,
          "threshold_fen": 0, "discount_fen": None}, 500, None),
    ]
    for overrides, discount, gift in cases:
        template = _template(client, api_key, stacking="stackable", **overrides)
        coupon = _claim(client, api_key, template["id"], customer.id).json()
        fresh = make_order(db, customer, store=store, items=[
            ("APPLE", 3, 3_333), ("PEAR", 1, 1_999), ("JUICE", 1, 1_500)])
        redeemed = _redeem(client, api_key, coupon["code"], fresh.id)
        assert redeemed.status_code == 201, (overrides, redeemed.text)
        assert (redeemed.json()["discount_fen"], redeemed.json()["gift_sku"]) == (discount,
                                                                                  gift)
    missing = _template(client, api_key, kind="bundle", bundle_skus=["PEAR", "MANGO"],
                        bundle_price_fen=100, threshold_fen=0, discount_fen=None)
    coupon = _claim(client, api_key, missing["id"], customer.id).json()
    plain = make_order(db, customer, store=store, items=[("PEAR", 1, 1_999)])
    refused = _redeem(client, api_key, coupon["code"], plain.id)
    assert refused.json()["error"]["details"] == {"reason": "item_missing", "sku": "MANGO"}
    bad = client.post("/api/v1/coupon-templates", json=threshold_template(
        kind="discount", discount_fen=None), headers=_headers(api_key))
    assert (bad.status_code, _error(bad)) == (422, "invalid_payload")


def test_stacking_and_scope(client: TestClient, db: Session) -> None:
    store, api_key, (customer, *_) = seed(db)
    other_store = make_store(db, key("X").replace("-", ""))
    exclusive = _template(client, api_key, threshold_fen=0, discount_fen=500)
    stackable = _template(client, api_key, threshold_fen=0, discount_fen=500,
                          stacking="stackable")
    scoped = _template(client, api_key, threshold_fen=0, discount_fen=500,
                       stacking="stackable", scope={"stores": [other_store.code]})
    order = make_order(db, customer, total_fen=5_000, store=store)
    first = _claim(client, api_key, exclusive["id"], customer.id).json()
    second = _claim(client, api_key, stackable["id"], customer.id).json()
    third = _claim(client, api_key, scoped["id"], customer.id).json()
    assert _redeem(client, api_key, first["code"], order.id).status_code == 201
    stacked = _redeem(client, api_key, second["code"], order.id)
    assert stacked.json()["error"]["details"]["reason"] == "stacking"
    assert _redeem(client, api_key, third["code"], order.id).json()["error"]["details"][
        "reason"] == "store_scope"
    unknown = client.post("/api/v1/coupon-templates", json=threshold_template(
        scope={"stores": ["NOPE"]}), headers=_headers(api_key))
    assert (unknown.status_code, _error(unknown)) == (422, "invalid_coupon_template")


def test_staff_see_only_their_store_and_may_not_create_templates(
    client: TestClient, db: Session
) -> None:
    store, hq_key, (mine, *_) = seed(db)
    elsewhere = make_store(db, key("E").replace("-", ""))
    (theirs,) = make_customers(db, elsewhere, 1, prefix="1370001")
    staff_key = make_api_key(db, Role.STAFF, store)
    template = _template(client, hq_key)
    assert _claim(client, staff_key, template["id"], mine.id).status_code == 201
    hidden = _claim(client, staff_key, template["id"], theirs.id)
    assert (hidden.status_code, _error(hidden)) == (404, "customer_not_found")
    refused = client.post("/api/v1/coupon-templates", json=threshold_template(),
                          headers=_headers(staff_key))
    assert (refused.status_code, _error(refused)) == (403, "role_not_allowed")
    closed = service.close_template(db, actor=SYSTEM, template_id=template["id"])
    assert closed.status == "closed"
    shut = _claim(client, staff_key, template["id"], mine.id)
    assert (shut.status_code, _error(shut)) == (409, "coupon_template_closed")
    assert _error(_claim(client, hq_key, 10**9, mine.id)) == "coupon_template_not_found"


def test_welcome_offer_is_granted_once(db: Session) -> None:
    store, _, (customer, *_) = seed(db)
    data = CouponTemplateCreate.model_validate(threshold_template(
        welcome_trigger="channel_code", welcome_code="", name="加微信返5元",
        threshold_fen=0, discount_fen=500, stock=10))
    assert service.create_template(db, actor=SYSTEM, data=data).succeeded
    group = CouponTemplateCreate.model_validate(threshold_template(
        welcome_trigger="group_join", kind="gift", gift_sku="SIDE-DISH", discount_fen=None,
        threshold_fen=0, name="进群送小菜"))
    assert service.create_template(db, actor=SYSTEM, data=group).succeeded
    granted = service.grant_welcome_offer(db, customer_id=customer.id,
                                          trigger=WelcomeTrigger.CHANNEL_CODE, code_state="S1")
    assert [coupon.template_name for coupon in granted] == ["加微信返5元"]
    assert service.grant_welcome_offer(db, customer_id=customer.id,
                                       trigger=WelcomeTrigger.CHANNEL_CODE,
                                       code_state="S2") == []
    joined = service.grant_welcome_offer(db, customer_id=customer.id,
                                         trigger=WelcomeTrigger.GROUP_JOIN)
    assert [coupon.template_name for coupon in joined] == ["进群送小菜"]
    assert service.grant_welcome_offer(db, customer_id=customer.id,
                                       trigger=WelcomeTrigger.GROUP_JOIN) == []
    assert db.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.customer_id == customer.id, Coupon.source == "welcome")) == 2
    del store
