"""The connectors page in real headless Chromium: an owner saves the WeCom settings (shown
masked), presses the test button — the simulator starts in-process and sends an encrypted
add_external_contact to the live server — and sees the outcome; a signed webhook delivery
then shows up in the live log without a reload."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from tests.conftest import TEST_DATA_KEY
from tests.support.browser import chromium, log_in
from tests.support.factories import SYSTEM, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.config import Settings
from yutang.connectors.webhooks import service as webhooks_service
from yutang.connectors.webhooks import signing
from yutang.connectors.wecom.models import WeComCallback
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade
from yutang.pool.models import Event

pytestmark = pytest.mark.browser

AES_KEY = base64.b64encode(bytes(range(10, 42))).decode()[:-1]
SECRET = "wecom-browser-secret-01"


def test_owner_configures_wecom_runs_the_round_trip_and_watches_the_log(
    tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'connectors-browser.db'}"
    upgrade(url)
    engine = create_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        make_user(session, "boss", Role.OWNER)
        webhook_secret = webhooks_service.add_source(session, actor=SYSTEM, name="app").secret
    settings = Settings(database_url=url, data_key=TEST_DATA_KEY,
                        data_key_file=tmp_path / "unused.key",
                        wecom_base_url="http://127.0.0.1:9")
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "boss")
        page.click("nav.sidebar >> text=连接器")
        form = page.locator("[data-testid=wecom-form]")
        form.locator("input[name=corp_id]").fill("wwbrowser0001")
        form.locator("input[name=token]").fill("browserToken1")
        form.locator("input[name=aes_key]").fill(AES_KEY)
        form.locator("input[name=secret]").fill(SECRET)
        form.locator("button[type=submit]").click()
        corp = page.locator("[data-testid=wecom-corp]")
        corp.wait_for()
        assert "wwbrowser0001" in corp.inner_text()
        assert SECRET not in page.content() and AES_KEY not in page.content()
        assert "wec****" in corp.inner_text()

        page.click("[data-testid=wecom-test]")
        page.locator("[data-testid=round-trip]").wait_for()
        assert page.locator("[data-testid=verify-outcome]").inner_text().startswith("200")
        assert page.locator("[data-testid=callback-outcome]").inner_text() == "200 success"
        assert page.locator("[data-testid=recorded-outcome]").inner_text() == \
            "已处理 · 写入 1 条客户事件"
        assert page.locator("#connector-log tr[data-connector=wecom]").count() == 1

        body = orjson.dumps({"events": [{
            "event_id": "app-1", "type": "view", "occurred_at": "2026-11-20T10:00:00+08:00",
            "identities": {"app_user_id": "U-777"}}]})
        sent = httpx.post(f"{base}/connectors/webhooks/app/events", content=body,
                          headers=signing.signed_headers(webhook_secret, body,
                                                         timestamp=int(time.time())))
        assert sent.status_code == 200, sent.text
        # the log is polled every 5 s: the delivery appears without a reload
        page.locator("#connector-log tr[data-connector=webhook]").wait_for(timeout=15_000)
    with unit_of_work(make_session_factory(engine)) as session:
        callback = session.scalars(select(WeComCallback)).one()
        assert (callback.change_type, callback.outcome, callback.pool_events) == (
            "add_external_contact", "processed", 1)
        assert sorted(row.type for row in session.scalars(select(Event))) == [
            "add_contact", "view"]
    engine.dispose()
