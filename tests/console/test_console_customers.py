"""Customer pages: store scoping (404), masking, reveal and export with their audit rows."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import make_api_key, make_customer, make_store, make_user
from yutang.access.models import AuditEntry
from yutang.access.roles import Role
from yutang.org.models import Store
from yutang.pool.models import Customer


def _two_stores(db: Session) -> tuple[Store, Store, Customer, Customer]:
    store_a = make_store(db, "A01", "静安店")
    store_b = make_store(db, "B01", "天河店", city="广州")
    mine = make_customer(db, store=store_a, name="张伟", phone="13812341234")
    theirs = make_customer(db, store=store_b, name="李娜", phone="13987654321")
    return store_a, store_b, mine, theirs


def _audit(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_staff_sees_own_customer_masked_and_another_store_is_a_404_everywhere(
    client: TestClient, db: Session
) -> None:
    store_a, _, mine, theirs = _two_stores(db)
    make_user(db, "a_staff", Role.STAFF, store_a)
    api_key = make_api_key(db, Role.STAFF, store_a)
    logged_in(client, "a_staff")

    own = client.get(f"/console/customers/{mine.id}")
    assert own.status_code == 200
    assert "138****1234" in own.text
    assert "13812341234" not in own.text
    assert "张*" in own.text and "张伟" not in own.text

    other = client.get(f"/console/customers/{theirs.id}")
    missing = client.get("/console/customers/999999999")
    assert other.status_code == missing.status_code == 404
    assert "没有这位客户" in other.text
    assert "李" not in other.text and "139****4321" not in other.text

    listing = client.get("/console/customers")
    assert f"#{mine.id}" in listing.text and f"#{theirs.id}" not in listing.text
    assert client.get("/console/customers?q=13987654321").text.count("139****4321") == 0

    headers = {"Authorization": f"Bearer {api_key}"}
    assert client.get(f"/api/v1/customers/{theirs.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/customers/{mine.id}", headers=headers).status_code == 200


def test_search_by_phone_name_and_id(client: TestClient, db: Session) -> None:
    _, _, mine, theirs = _two_stores(db)
    make_user(db, "hq", Role.HQ_OPERATOR)
    logged_in(client, "hq")
    by_phone = client.get("/console/customers?q=139 8765 4321")
    assert f"#{theirs.id}" in by_phone.text and f"#{mine.id}" not in by_phone.text
    by_name = client.get("/console/customers?q=张伟")
    assert f"#{mine.id}" in by_name.text and f"#{theirs.id}" not in by_name.text
    by_id = client.get(f"/console/customers?q=%23{theirs.id}")
    assert f"#{theirs.id}" in by_id.text and f"#{mine.id}" not in by_id.text
    nothing = client.get("/console/customers?q=王芳")
    assert "没有找到客户" in nothing.text


def test_reveal_needs_a_reason_and_a_valid_csrf_token_and_is_audited(
    client: TestClient, db: Session
) -> None:
    store_a, _, mine, theirs = _two_stores(db)
    make_user(db, "a_manager", Role.STORE_MANAGER, store_a)
    logged_in(client, "a_manager")
    token = page_csrf_token(client, f"/console/customers/{mine.id}")
    url = f"/console/customers/{mine.id}/reveal"

    missing = client.post(url, data={"reason": "回访确认地址"})
    forged = client.post(url, data={"reason": "回访确认地址", "csrf_token": "forged"})
    cross_site = client.post(url, data={"reason": "回访确认地址", "csrf_token": token},
                             headers={"Origin": "https://evil.example"})
    for refused in (missing, forged, cross_site):
        assert refused.status_code == 403
        assert "表单已失效" in refused.text
        assert "13812341234" not in refused.text
    no_reason = client.post(url, data={"reason": " ", "csrf_token": token})
    assert no_reason.status_code == 422
    assert "请填写原因" in no_reason.text
    assert _audit(db, "customer.reveal") == []

    other_store = client.post(f"/console/customers/{theirs.id}/reveal",
                              data={"reason": "看看", "csrf_token": token})
    assert other_store.status_code == 404
    assert "13987654321" not in other_store.text

    revealed = client.post(url, data={"reason": "回访确认地址", "csrf_token": token})
    assert revealed.status_code == 200
    assert "13812341234" in revealed.text and "张伟" in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    (entry,) = _audit(db, "customer.reveal")
    assert entry.actor_name == "a_manager"
    assert entry.reason == "回访确认地址"
    assert entry.entity_id == str(mine.id)


def test_export_is_masked_scoped_and_audited(client: TestClient, db: Session) -> None:
    store_a, _, mine, _ = _two_stores(db)
    make_user(db, "a_manager", Role.STORE_MANAGER, store_a)
    logged_in(client, "a_manager")
    token = page_csrf_token(client)
    no_reason = client.post("/console/customers/export", data={"csrf_token": token})
    assert no_reason.status_code == 422
    assert _audit(db, "customer.export") == []

    export = client.post("/console/customers/export",
                         data={"csrf_token": token, "reason": "月度回访名单"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "store_code", "acquisition_channel"]
    assert [row[0] for row in rows[1:]] == [str(mine.id)]
    assert rows[1][4:6] == ["张*", "138****1234"]
    (entry,) = _audit(db, "customer.export")
    assert entry.reason == "月度回访名单"
    assert entry.details["rows"] == 1


def test_staff_may_not_export(client: TestClient, db: Session) -> None:
    store_a, _, _, _ = _two_stores(db)
    make_user(db, "a_staff", Role.STAFF, store_a)
    logged_in(client, "a_staff")
    page = client.get("/console/customers")
    assert "/console/customers/export" not in page.text
    refused = client.post("/console/customers/export",
                          data={"csrf_token": page_csrf_token(client), "reason": "想导出"})
    assert refused.status_code == 403
    assert "无权" in refused.text
    assert _audit(db, "customer.export") == []


def test_analyst_sees_pseudonyms_and_aggregates_only(client: TestClient, db: Session) -> None:
    _, _, mine, _ = _two_stores(db)
    make_user(db, "ana", Role.ANALYST)
    logged_in(client, "ana")
    listing = client.get("/console/customers")
    assert listing.status_code == 200
    assert "p_" in listing.text
    for personal in ("张*", "138****1234", "李*", f"#{mine.id}"):
        assert personal not in listing.text
    assert client.get(f"/console/customers/{mine.id}").status_code == 404
    assert client.get("/console/customers?q=13812341234").status_code == 422
    overview = client.get("/console/")
    assert overview.status_code == 200 and 'data-testid="pool-size">2<' in overview.text


def test_stores_page_lists_and_creates_for_hq_only(client: TestClient, db: Session) -> None:
    store_a = make_store(db, "A01", "静安店")
    make_user(db, "boss", Role.OWNER)
    make_user(db, "a_staff", Role.STAFF, store_a)
    logged_in(client, "boss")
    token = page_csrf_token(client, "/console/stores")
    created = client.post("/console/stores",
                          data={"csrf_token": token, "code": "SZ01", "name": "南山店",
                                "city": "深圳"})
    assert created.status_code == 200
    assert "门店 SZ01 已创建" in created.text and "南山店" in created.text
    invalid = client.post("/console/stores",
                          data={"csrf_token": token, "code": "bad code!", "name": "x",
                                "city": "深圳"})
    assert invalid.status_code == 422
    taken = client.post("/console/stores",
                        data={"csrf_token": token, "code": "SZ01", "name": "重复", "city": "深圳"})
    assert taken.status_code == 409
    assert "门店编码已被使用" in taken.text
    assert [entry.details["code"] for entry in _audit(db, "store.create")] == ["SZ01"]

    client.cookies.clear()
    logged_in(client, "a_staff")
    staff_page = client.get("/console/stores")
    assert "A01" in staff_page.text and 'action="/console/stores"' not in staff_page.text
    refused = client.post("/console/stores",
                          data={"csrf_token": page_csrf_token(client, "/console/stores"),
                                "code": "X01", "name": "x", "city": "y"})
    assert refused.status_code == 403


def test_audit_log_page_is_for_auditors(client: TestClient, db: Session) -> None:
    store_a, _, mine, _ = _two_stores(db)
    make_user(db, "a_manager", Role.STORE_MANAGER, store_a)
    make_user(db, "checker", Role.AUDITOR)
    logged_in(client, "a_manager")
    token = page_csrf_token(client, f"/console/customers/{mine.id}")
    client.post(f"/console/customers/{mine.id}/reveal",
                data={"reason": "核对收货地址", "csrf_token": token})
    assert client.get("/console/audit").status_code == 403
    client.cookies.clear()
    logged_in(client, "checker")
    audit = client.get("/console/audit")
    assert audit.status_code == 200
    assert "customer.reveal" in audit.text and "核对收货地址" in audit.text
