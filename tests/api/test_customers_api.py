"""The customer API: scoping (404, never 403), masking, reveal and export with audit."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import make_api_key, make_customer, make_store
from yutang.access.models import AuditEntry
from yutang.access.roles import Role

MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _audit_count(db: Session, action: str) -> int:
    return int(db.scalar(select(func.count()).where(AuditEntry.action == action)) or 0)


def test_staff_key_sees_own_store_and_gets_404_for_another(client: TestClient, db: Session) -> None:
    store_a, store_b = make_store(db, "A01"), make_store(db, "B01")
    mine = make_customer(db, store=store_a, name="张伟", phone="13812341234")
    theirs = make_customer(db, store=store_b, name="李娜", phone="13912345678")
    key = make_api_key(db, Role.STAFF, store_a)
    db.commit()

    own = client.get(f"/api/v1/customers/{mine.id}", headers=_bearer(key))
    assert own.status_code == 200
    assert own.json()["customer"]["phone"] == "138****1234"
    assert own.json()["customer"]["name"] == "张*"

    other = client.get(f"/api/v1/customers/{theirs.id}", headers=_bearer(key))
    missing = client.get("/api/v1/customers/999999", headers=_bearer(key))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "customer_not_found"
    # The answer for another store's customer is indistinguishable from a missing one.
    assert other.json()["error"]["code"] == missing.json()["error"]["code"]

    listing = client.get("/api/v1/customers", headers=_bearer(key)).json()
    assert [item["id"] for item in listing["items"]] == [mine.id]
    assert listing["total"] == 1
    by_phone = client.get("/api/v1/customers", params={"phone": "139 1234 5678"},
                          headers=_bearer(key)).json()
    assert by_phone["total"] == 0


def test_phone_search_uses_blind_index_and_masks(client: TestClient, db: Session) -> None:
    store = make_store(db, "A01")
    target = make_customer(db, store=store, name="王芳", phone="13700001111")
    make_customer(db, store=store, name="王芳", phone="13700002222")
    key = make_api_key(db, Role.HQ_OPERATOR)
    db.commit()
    found = client.get("/api/v1/customers", params={"phone": "+86 137-0000-1111"},
                       headers=_bearer(key)).json()
    assert [item["id"] for item in found["items"]] == [target.id]
    assert MASKED_PHONE.match(found["items"][0]["phone"])
    by_name = client.get("/api/v1/customers", params={"q": "王芳"}, headers=_bearer(key)).json()
    assert by_name["total"] == 2
    assert "13700001111" not in str(found) + str(by_name)


def test_analyst_sees_pseudonyms_only(client: TestClient, db: Session) -> None:
    store = make_store(db, "A01")
    customer = make_customer(db, store=store, name="赵敏", phone="13655556666")
    key = make_api_key(db, Role.ANALYST)
    db.commit()
    listing = client.get("/api/v1/customers", headers=_bearer(key)).json()
    item = listing["items"][0]
    assert item["id"] is None
    assert item["pseudonym"].startswith("p_")
    assert item["name"] is None and item["phone"] is None
    assert item["personal_data"] == "pseudonymous"
    detail = client.get(f"/api/v1/customers/{customer.id}", headers=_bearer(key))
    assert detail.status_code == 404
    search = client.get("/api/v1/customers", params={"phone": "13655556666"},
                        headers=_bearer(key))
    assert search.status_code == 422
    assert search.json()["error"]["code"] == "invalid_search"


def test_reveal_requires_reason_and_role_and_is_audited(client: TestClient, db: Session) -> None:
    store = make_store(db, "A01")
    customer = make_customer(db, store=store, name="钱多多", phone="13511112222")
    manager_key = make_api_key(db, Role.STORE_MANAGER, store)
    auditor_key = make_api_key(db, Role.AUDITOR)
    db.commit()
    url = f"/api/v1/customers/{customer.id}/reveal"

    no_reason = client.post(url, json={"reason": " "}, headers=_bearer(manager_key))
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["code"] == "reason_required"
    denied = client.post(url, json={"reason": "回访"}, headers=_bearer(auditor_key))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "role_not_allowed"
    assert _audit_count(db, "customer.reveal") == 0

    revealed = client.post(url, json={"reason": "回访确认地址"}, headers=_bearer(manager_key))
    assert revealed.status_code == 200
    assert revealed.json()["customer"]["phone"] == "13511112222"
    assert revealed.json()["customer"]["personal_data"] == "revealed"
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "customer.reveal")).all()
    assert len(entries) == 1
    assert entries[0].reason == "回访确认地址"
    assert entries[0].entity_id == str(customer.id)
    assert entries[0].actor_kind == "api_key"


def test_export_is_masked_scoped_and_audited(client: TestClient, db: Session) -> None:
    store_a, store_b = make_store(db, "A01"), make_store(db, "B01")
    make_customer(db, store=store_a, name="孙悟空", phone="13800138000")
    make_customer(db, store=store_b, name="猪八戒", phone="13900139000")
    key = make_api_key(db, Role.STORE_MANAGER, store_a)
    staff_key = make_api_key(db, Role.STAFF, store_a)
    db.commit()
    refused = client.get("/api/v1/customers/export", params={"reason": "月度复盘"},
                         headers=_bearer(staff_key))
    assert refused.status_code == 403
    response = client.get("/api/v1/customers/export", params={"reason": "月度复盘"},
                          headers=_bearer(key))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 2  # header + the one customer of store A
    assert "138****8000" in text and "孙*" in text
    assert "13800138000" not in text and "13900139000" not in text and "猪" not in text
    assert _audit_count(db, "customer.export") == 1


def test_store_create_api(client: TestClient, db: Session) -> None:
    owner_key = make_api_key(db, Role.OWNER)
    store = make_store(db, "A01")
    staff_key = make_api_key(db, Role.STAFF, store)
    db.commit()
    created = client.post("/api/v1/stores", json={"code": "SH01", "name": "徐汇店", "city": "上海"},
                          headers=_bearer(owner_key))
    assert created.status_code == 201
    assert created.json()["code"] == "SH01"
    duplicate = client.post("/api/v1/stores", json={"code": "SH01", "name": "x", "city": "上海"},
                            headers=_bearer(owner_key))
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "store_code_taken"
    wrong_role = client.post("/api/v1/stores", json={"code": "SH02", "name": "x", "city": "上海"},
                             headers=_bearer(staff_key))
    assert wrong_role.status_code == 403
    assert wrong_role.json()["error"]["code"] == "role_not_allowed"
    malformed = client.post("/api/v1/stores", json={"code": "bad code!", "name": "", "city": ""},
                            headers=_bearer(owner_key))
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "invalid_payload"
    codes = [row["code"] for row in client.get("/api/v1/stores",
                                               headers=_bearer(owner_key)).json()]
    assert codes == ["A01", "SH01"]
    assert _audit_count(db, "store.create") == 1


def test_missing_malformed_and_revoked_keys_are_refused(client: TestClient, db: Session) -> None:
    assert client.get("/api/v1/me").json()["error"]["code"] == "invalid_api_key"
    assert client.get("/api/v1/me").status_code == 401
    bogus = client.get("/api/v1/me", headers=_bearer("yt_000000000000_nope"))
    assert bogus.status_code == 401
    key = make_api_key(db, Role.AUDITOR)
    db.commit()
    me = client.get("/api/v1/me", headers=_bearer(key)).json()
    assert me["role"] == "auditor"
    assert "customers.reveal" not in me["permissions"]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert client.get("/api/v1/me", headers=_bearer(tampered)).status_code == 401
