"""The connectors page (owners only): settings saved encrypted and shown masked, webhook
secrets shown once, the log of callbacks; and platform exports previewed and imported on the
imports page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.connectors.official_account_support import (
    AES_KEY,
    SECRET,
    TOKEN,
    event_xml,
    post,
    safe_request,
)
from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import make_user
from yutang.access.roles import Role
from yutang.connectors.webhooks import service as webhooks_service
from yutang.pool.models import Order

DATA = Path(__file__).parent.parent / "data" / "platform_orders"


def test_owner_configures_connectors_and_sees_only_masked_secrets(
    client: TestClient, db: Session
) -> None:
    make_user(db, "boss", Role.OWNER)
    logged_in(client, "boss")
    token = page_csrf_token(client, "/console/connectors")
    saved = client.post("/console/connectors/official-account", data={
        "csrf_token": token, "app_id": "wx5823bf96d3bd56c7", "token": TOKEN,
        "aes_key": AES_KEY, "secret": SECRET, "mode": "safe"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    added = client.post("/console/connectors/webhooks",
                        data={"csrf_token": token, "name": "miniprogram"})
    assert added.status_code == 200
    assert 'data-testid="webhook-secret"' in added.text
    secret = added.text.split('data-testid="webhook-secret">')[1].split("<")[0]
    assert webhooks_service.source_secret(db, "miniprogram") == secret

    assert post(client, safe_request(event_xml("subscribe", "oConsole0001"))) == (
        200, "success")
    page = client.get("/console/connectors")
    assert page.status_code == 200
    for clear in (TOKEN, AES_KEY, SECRET, secret):
        assert clear not in page.text
    assert "oaT****" in page.text and "whs****" in page.text
    log = client.get("/console/connectors/log")
    assert 'data-connector="official_account"' in log.text and "subscribe" in log.text
    assert "已处理" in log.text


def test_only_owners_see_connectors(client: TestClient, db: Session) -> None:
    make_user(db, "hq", Role.HQ_OPERATOR)
    logged_in(client, "hq")
    assert client.get("/console/connectors").status_code == 403
    assert client.get("/console/connectors/log").status_code == 403


def test_a_platform_export_is_previewed_then_imported_on_the_imports_page(
    client: TestClient, db: Session
) -> None:
    make_user(db, "hq", Role.HQ_OPERATOR)
    logged_in(client, "hq")
    token = page_csrf_token(client, "/console/imports")
    content = (DATA / "taobao_ExportOrderList201711.csv").read_bytes()
    files = {"file": ("ExportOrderList.csv", content, "text/csv")}
    shown = client.post("/console/imports", data={"csrf_token": token, "kind": "platform",
                                                  "preview": "1"}, files=files)
    assert shown.status_code == 200, shown.text
    assert 'data-testid="platform-preview"' in shown.text and "gb18030" in shown.text
    assert "买家实际支付金额" in shown.text and "unknown_status" in shown.text
    assert db.scalar(select(func.count()).select_from(Order)) == 0
    done = client.post("/console/imports", data={"csrf_token": token, "kind": "taobao"},
                       files=files)
    assert done.status_code == 200
    assert "共 9 行：新增 7，更新 0，未变 0，拒绝 2" in done.text
    assert 'data-testid="reject-file"' in done.text
    assert db.scalar(select(func.count()).select_from(Order)) == 7
