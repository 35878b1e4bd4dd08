"""The console in real headless Chromium: login, charts drawn, a masked customer, a 404."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_DATA_KEY
from tests.support.browser import chromium
from tests.support.factories import PASSWORD, make_api_key, make_customer, make_store, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.config import Settings
from yutang.kit.clock import utcnow
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade
from yutang.pool.models import Order, OrderItem, OrderStatus

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Shop:
    url: str
    own_customer_id: int
    other_customer_id: int
    staff_api_key: str


def _seed(url: str) -> tuple[int, int, str]:
    engine = create_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            store_a = make_store(session, "A01", "静安店")
            store_b = make_store(session, "B01", "天河店", city="广州")
            make_user(session, "a_staff", Role.STAFF, store_a)
            key = make_api_key(session, Role.STAFF, store_a)
            now = utcnow()
            mine = make_customer(session, store=store_a, name="张伟", phone="13812341234",
                                 acquired_at=now - timedelta(days=90))
            theirs = make_customer(session, store=store_b, name="李娜", phone="13987654321",
                                   acquired_at=now - timedelta(days=30))
            for number, days_ago in enumerate((80, 40, 5)):
                ordered = now - timedelta(days=days_ago)
                order = Order(source="pos", external_order_id=f"A-{number}",
                              customer_id=mine.id, store_id=store_a.id,
                              status=OrderStatus.COMPLETED.value, total_fen=5990,
                              paid_fen=5990, ordered_at=ordered, paid_at=ordered,
                              completed_at=ordered)
                session.add(order)
                session.flush()
                session.add(OrderItem(order_id=order.id, sku="APPLE-1", quantity=1,
                                      unit_price_fen=5990, amount_fen=5990))
            return mine.id, theirs.id, key
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    folder: Path = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'console.db'}"
    upgrade(url)
    own, other, key = _seed(url)
    settings = Settings(database_url=url, data_key=TEST_DATA_KEY,
                        data_key_file=folder / "unused.key")
    with live_server(settings) as base_url:
        yield Shop(url=base_url, own_customer_id=own, other_customer_id=other,
                   staff_api_key=key)


def test_staff_logs_in_sees_charts_and_a_masked_phone_and_a_404_for_another_store(
    shop: Shop,
) -> None:
    assert base64.urlsafe_b64decode(TEST_DATA_KEY)  # the server and the seed share the key
    with chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{shop.url}/console/")
        assert page.url.startswith(f"{shop.url}/console/login")
        page.fill("input[name=username]", "a_staff")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{shop.url}/console/")
        for chart in ("chart-pool-size", "chart-new-by-channel", "chart-gmv"):
            page.wait_for_selector(f"#{chart}[data-rendered='1'] canvas", timeout=15_000)
        assert page.inner_text("[data-testid=pool-size]") == "1"

        page.click("nav.sidebar >> text=客户")
        page.wait_for_selector("[data-testid=customer-table]")
        page.click(f"a[href='/console/customers/{shop.own_customer_id}']")
        page.wait_for_url(f"**/console/customers/{shop.own_customer_id}")
        assert page.inner_text("[data-testid=customer-phone]") == "138****1234"
        assert page.inner_text("[data-testid=customer-name]") == "张*"
        assert "13812341234" not in page.content()

        response = page.goto(f"{shop.url}/console/customers/{shop.other_customer_id}")
        assert response is not None and response.status == 404
        assert "没有这位客户" in page.inner_text("[role=alert]")
        assert "李" not in page.content()

        page.goto(f"{shop.url}/console/customers")
        page.fill("input[name=q]", "13812341234")
        page.press("input[name=q]", "Enter")
        page.wait_for_url("**/console/customers?q=13812341234")
        assert page.locator("[data-testid=customer-table] tbody tr").count() == 1

        page.click("text=English")
        page.wait_for_selector("h1:has-text('Customers')")

    headers = {"Authorization": f"Bearer {shop.staff_api_key}"}
    api = httpx.get(f"{shop.url}/api/v1/customers/{shop.other_customer_id}", headers=headers)
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "customer_not_found"
