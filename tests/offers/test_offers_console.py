"""The offers pages of the console, on both backends: templates with stock and redemption
counts, a customer's coupons, stored value and points, tiers, accounts and reconciliation."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.offers.support import key, make_customers
from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import make_store, make_user
from yutang.access.roles import Role
from yutang.console.i18n import catalog
from yutang.offers.models import (
    CouponEventKind,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    TemplateStatus,
    TransactionKind,
)


def _key_of(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_hq_creates_a_template_gives_a_coupon_and_tops_up(client: TestClient,
                                                          db: Session) -> None:
    store = make_store(db, key("V").replace("-", ""))
    (customer,) = make_customers(db, store, 1, prefix="1351234")
    make_user(db, "offers_hq", Role.HQ_OPERATOR)
    logged_in(client, "offers_hq")
    page = client.get("/console/offers/coupons")
    assert page.status_code == 200 and "优惠券模板" in page.text
    token = page_csrf_token(client, "/console/offers/coupons")
    form = {"csrf_token": token, "idempotency_key": _key_of(page.text), "name": "满100减20",
            "kind": "threshold", "threshold_yuan": "100", "discount_yuan": "20",
            "stock": "50", "valid_days": "30", "stacking": "exclusive"}
    created = client.post("/console/offers/coupons", data=form)
    assert created.status_code == 200 and "满 ¥100.00 减 ¥20.00" in created.text
    again = client.post("/console/offers/coupons", data=form)  # a double submit
    assert again.status_code == 200
    assert db.scalar(select(func.count()).select_from(CouponTemplate)) == 1
    invalid = client.post("/console/offers/coupons", data={**form, "idempotency_key": "x2",
                                                            "kind": "discount"})
    assert invalid.status_code == 422

    member_page = client.get(f"/console/offers/customers/{customer.id}")
    assert member_page.status_code == 200
    template_id = db.scalars(select(CouponTemplate.id)).one()
    claimed = client.post(f"/console/offers/customers/{customer.id}/claims", data={
        "csrf_token": token, "template_id": str(template_id), "idempotency_key": key()})
    assert claimed.status_code == 200 and "满100减20" in claimed.text
    topped = client.post(f"/console/offers/customers/{customer.id}/top-ups", data={
        "csrf_token": token, "amount_yuan": "50", "idempotency_key": key()})
    assert topped.status_code == 200 and "¥50.00" in topped.text
    listing = client.get("/console/offers/coupons")
    row = re.search(r'data-template-id="\d+">(.*?)</tr>', listing.text, re.S)
    assert row is not None and 'data-testid="issued">1<' in row.group(1)

    plan = client.post("/console/offers/stored-value/plans", data={
        "csrf_token": token, "name": "充500送50", "pay_yuan": "500", "bonus_yuan": "50",
        "idempotency_key": key()})
    assert plan.status_code == 200 and "充500送50" in plan.text and f"#{customer.id}" in plan.text
    tier = client.post("/console/offers/members/tiers", data={
        "csrf_token": token, "code": "gold", "name": "金卡", "rank": "3",
        "min_spend_yuan": "1000", "idempotency_key": key()})
    assert tier.status_code == 200 and "金卡" in tier.text
    regraded = client.post("/console/offers/members/regrade", data={"csrf_token": token})
    assert regraded.status_code == 200
    report = client.get("/console/offers/reconciliation")
    assert report.status_code == 200 and 'data-testid="reconciliation-status"' in report.text
    bad_day = client.get("/console/offers/reconciliation?day=nope")
    assert bad_day.status_code == 422 and "YYYY-MM-DD" in bad_day.text


def test_staff_may_not_create_templates_and_errors_are_translated(client: TestClient,
                                                                  db: Session) -> None:
    store = make_store(db, key("W").replace("-", ""))
    make_user(db, "offers_staff", Role.STAFF, store)
    logged_in(client, "offers_staff")
    page = client.get("/console/offers/coupons")
    assert page.status_code == 200 and 'data-testid="coupon-template-form"' not in page.text
    token = page_csrf_token(client, "/console/offers/coupons")
    refused = client.post("/console/offers/coupons", data={
        "csrf_token": token, "idempotency_key": key(), "name": "x", "kind": "threshold",
        "discount_yuan": "1", "valid_days": "3"})
    assert refused.status_code == 403
    assert client.get("/console/offers/stored-value").status_code == 403


def test_every_dynamic_offers_key_is_in_both_catalogs() -> None:
    expected = (
        {f"offers.kind.{kind.value}" for kind in CouponKind}
        | {f"offers.coupon_status.{status.value}" for status in CouponStatus}
        | {f"offers.template_status.{status.value}" for status in TemplateStatus}
        | {f"offers.transaction.{kind.value}" for kind in TransactionKind}
        | {"offers.stacking.exclusive", "offers.stacking.stackable"}
    )
    assert {kind.value for kind in CouponEventKind}
    for locale in ("zh_CN", "en"):
        assert expected - set(catalog(locale)) == set(), locale
