"""The coupon template page in real headless Chromium: create a template through the form,
see its stock, issued and redeemed counts move as coupons are claimed and redeemed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.offers.support import make_customers, make_order
from tests.support.browser import chromium, log_in
from tests.support.databases import served_sqlite
from tests.support.factories import make_api_key, make_store, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.kit.db import make_session_factory, unit_of_work

pytestmark = pytest.mark.browser


def test_hq_creates_a_coupon_template_and_watches_its_counts(tmp_path: Path) -> None:
    settings, engine = served_sqlite(tmp_path, "offers-browser")
    with unit_of_work(make_session_factory(engine)) as session:
        store = make_store(session, "B01", "静安店")
        make_user(session, "hq_offers", Role.HQ_OPERATOR)
        api_key = make_api_key(session, Role.HQ_OPERATOR)
        customers = make_customers(session, store, 3)
        orders = [make_order(session, customer, total_fen=15_000, store=store).id
                  for customer in customers]
        customer_ids = [customer.id for customer in customers]
    engine.dispose()
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "hq_offers")
        page.click("nav.sidebar >> text=优惠与会员")
        page.wait_for_selector("[data-testid=coupon-template-table]")
        form = page.locator("[data-testid=coupon-template-form]")
        form.locator("input[name=name]").fill("满100减20")
        form.locator("select[name=kind]").select_option("threshold")
        form.locator("input[name=threshold_yuan]").fill("100")
        form.locator("input[name=discount_yuan]").fill("20")
        form.locator("input[name=stock]").fill("20")
        form.locator("button[type=submit]").click()
        row = page.locator("[data-testid=coupon-template-table] tbody tr",
                           has_text="满100减20")
        row.wait_for()
        assert row.locator("[data-testid=stock]").inner_text() == "20"
        assert row.locator("[data-testid=issued]").inner_text() == "0"
        template_id = row.get_attribute("data-template-id")

        headers = {"Authorization": f"Bearer {api_key}"}
        codes = []
        for number, customer_id in enumerate(customer_ids):
            claimed = httpx.post(f"{base}/api/v1/coupon-templates/{template_id}/claims",
                                 json={"customer_id": customer_id,
                                       "idempotency_key": f"b-{number}"}, headers=headers)
            assert claimed.status_code == 201
            codes.append(claimed.json()["code"])
        redeemed = httpx.post(f"{base}/api/v1/coupons/{codes[0]}/redemptions",
                              json={"order_id": orders[0], "idempotency_key": "b-r"},
                              headers=headers)
        assert redeemed.status_code == 201
        page.reload()
        row = page.locator("[data-testid=coupon-template-table] tbody tr",
                           has_text="满100减20")
        assert row.locator("[data-testid=issued]").inner_text() == "3"
        assert row.locator("[data-testid=redeemed]").inner_text() == "1"
        assert "满 ¥100.00 减 ¥20.00" in row.inner_text()

        page.goto(f"{base}/console/offers/customers/{customer_ids[0]}")
        assert codes[0] in page.inner_text("[data-testid=customer-coupon-table]")
        page.click("text=English")
        page.wait_for_selector("h1:has-text('Offers and membership')")
