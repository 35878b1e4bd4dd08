"""POST /api/v1/customers and lookups by identifier."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import make_api_key, make_store
from yutang.access.models import AuditEntry
from yutang.access.roles import Role
from yutang.pool.models import Consent, Customer


def test_upsert_creates_then_finds_then_merges(client: TestClient, db: Session) -> None:
    store = make_store(db, "SH01")
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    created = client.post("/api/v1/customers", headers=headers, json={
        "identities": {"wechat_unionid": "U-77"},
        "profile": {"name": "王芳", "phone": "13700001111", "gender": "female"},
        "store": "SH01", "consent": {"wecom": True, "sms": False},
    })
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["phone"], body["store_code"]) == ("王*", "137****1111", "SH01")
    customer_id = body["id"]
    row = db.get(Customer, customer_id)
    assert row is not None and row.store_id == store.id and row.name == "王芳"
    assert {(c.channel, c.granted, c.source) for c in db.scalars(select(Consent))} == {
        ("wecom", True, "api"), ("sms", False, "api")}

    again = client.post("/api/v1/customers", headers=headers,
                        json={"identities": {"phone": "137-0000-1111"}})
    assert again.status_code == 200 and again.json()["id"] == customer_id

    other = client.post("/api/v1/customers", headers=headers,
                        json={"identities": {"taobao_id": "tb-wang"}}).json()
    assert other["id"] != customer_id
    bridge = client.post("/api/v1/customers", headers=headers,
                         json={"identities": {"taobao_id": "tb-wang", "wechat_unionid": "U-77"}})
    assert bridge.status_code == 200 and bridge.json()["id"] == customer_id

    found = client.get("/api/v1/customers", headers=headers,
                       params={"identity_kind": "taobao_id", "identity_value": "tb-wang"})
    assert [item["id"] for item in found.json()["items"]] == [customer_id]
    by_phone = client.get("/api/v1/customers", headers=headers, params={"phone": "13700001111"})
    assert [item["id"] for item in by_phone.json()["items"]] == [customer_id]
    nobody = client.get("/api/v1/customers", headers=headers,
                        params={"identity_kind": "jd_id", "identity_value": "none-such"})
    assert nobody.json()["total"] == 0
    half = client.get("/api/v1/customers", headers=headers, params={"identity_kind": "jd_id"})
    assert half.status_code == 422 and half.json()["error"]["code"] == "invalid_search"
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer_id)
    ).order_by(AuditEntry.id)).all()
    assert actions[:3] == ["customer.create", "consent.withdraw", "consent.grant"]
    assert "customer.merge" in actions


def test_upsert_refuses_bad_profiles_and_other_stores(client: TestClient, db: Session) -> None:
    make_store(db, "SH01")
    other = make_store(db, "BJ01")
    staff_key = make_api_key(db, Role.STAFF, other)
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    cases = [
        ({"identities": {"phone": "13700001111"}, "profile": {"age": "30"}}, "invalid_profile"),
        ({"identities": {"phone": "13700001111"}, "profile": {"gender": "x"}}, "invalid_profile"),
        ({"identities": {}}, "invalid_profile"),
        ({"identities": {"fax": "1"}}, "unknown_identity_kind"),
        ({"identities": {"phone": "13700001111"}, "store": "NOPE"}, "store_not_found"),
    ]
    for payload, code in cases:
        response = client.post("/api/v1/customers", headers=headers, json=payload)
        assert response.json()["error"]["code"] == code, payload
    staff = client.post("/api/v1/customers", json={"identities": {"phone": "13700001111"},
                                                     "store": "SH01"},
                        headers={"Authorization": f"Bearer {staff_key}"})
    assert staff.status_code == 404
    assert db.scalars(select(Customer)).all() == []
