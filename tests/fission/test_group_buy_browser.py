"""Group-buy, bargains and the store leaderboard in real headless Chromium: create a deal
through the form, watch its teams fill, fail and refund, see the bait-to-full conversion, a
bargain's price and the leaderboard chart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.fission.group_buy_support import full_price_order, make_shop
from tests.support.browser import chromium, log_in
from tests.support.databases import served_sqlite
from tests.support.factories import make_api_key, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.fission import group_buy
from yutang.kit.clock import utcnow
from yutang.kit.db import make_session_factory, unit_of_work

pytestmark = pytest.mark.browser


def test_hq_runs_a_group_buy_and_reads_the_leaderboard(tmp_path: Path) -> None:
    settings, engine = served_sqlite(tmp_path, "group-buy-browser")
    with unit_of_work(make_session_factory(engine)) as session:
        store, customers = make_shop(session, 6)
        make_user(session, "hq_group_buy", Role.HQ_OPERATOR)
        api_key = make_api_key(session, Role.HQ_OPERATOR)
        ids = [customer.id for customer in customers]
        store_code = store.code
    headers = {"Authorization": f"Bearer {api_key}"}
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "hq_group_buy")
        page.click("nav.sidebar >> text=拼团与砍价")
        page.wait_for_selector("[data-testid=deal-table]")
        form = page.locator("[data-testid=deal-form]")
        form.locator("input[name=name]").fill("99元写真体验")
        form.locator("input[name=product_sku]").fill("PHOTO-SET")
        form.locator("input[name=bait_price_yuan]").fill("99")
        form.locator("input[name=list_price_yuan]").fill("1500")
        form.locator("input[name=team_size]").fill("3")
        form.locator("input[name=time_limit_minutes]").fill("60")
        form.locator("input[name=stock]").fill("50")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=deal-summary]")
        assert "拼团价 ¥99.00，原价 ¥1,500.00，3 人成团" in page.inner_text(
            "[data-testid=deal-summary]")
        deal_id = page.url.rstrip("/").rsplit("/", 1)[1]

        def post(path: str, body: dict[str, int]) -> dict[str, object]:
            response = httpx.post(f"{base}/api/v1{path}", json=body, headers=headers)
            assert response.status_code == 201, response.text
            return dict(response.json())

        filled = post(f"/group-buy-deals/{deal_id}/teams", {"leader_customer_id": ids[0]})
        for customer_id in ids[1:3]:
            post(f"/group-buy-teams/{filled['id']}/members", {"customer_id": customer_id})
        failing = post(f"/group-buy-deals/{deal_id}/teams", {"leader_customer_id": ids[3]})
        post(f"/group-buy-teams/{failing['id']}/members", {"customer_id": ids[4]})
        bargain = post("/bargains", {"customer_id": ids[5], "product_sku": "CAKE-6",
                                     "list_price_fen": 19_900, "floor_price_fen": 9_900,
                                     "helps_needed": 3, "time_limit_minutes": 60})
        cut = post(f"/bargains/{bargain['id']}/helps", {"customer_id": ids[0]})
        with unit_of_work(make_session_factory(engine)) as session:
            result = group_buy.expire_teams(session, now=utcnow() + timedelta(hours=2))
            assert (result.teams_failed, result.members_refunded) == (1, 2)
            buyer = session.get(type(customers[1]), ids[1])
            assert buyer is not None
            full_price_order(session, buyer, at=utcnow() + timedelta(days=3),
                             sku="PHOTO-SET", unit_price_fen=150_000)
        engine.dispose()

        page.reload()
        failed_row = page.locator(f"[data-testid=team-table] tr[data-team-id='{failing['id']}']")
        assert failed_row.locator("[data-testid=team-status]").inner_text() == "未成团（已退款）"
        assert failed_row.locator("[data-testid=team-refunds]").inner_text() == "2"
        filled_row = page.locator(f"[data-testid=team-table] tr[data-team-id='{filled['id']}']")
        assert filled_row.locator("[data-testid=team-status]").inner_text() == "已成团"
        assert filled_row.locator("[data-testid=team-members]").inner_text() == "3 / 3"
        assert "拼团买家 3 人，其中 1 人之后买了正价（33.3%）" in page.inner_text(
            "[data-testid=conversion]")
        assert "已售 3 / 库存 50" in page.inner_text("[data-testid=deal-summary]")

        page.click("[data-testid=group-buy-tabs] >> text=砍价")
        row = page.locator(f"[data-testid=bargain-table] tr[data-bargain-id='{bargain['id']}']")
        assert row.locator("[data-testid=helps]").inner_text() == "1 / 3"
        assert row.locator("[data-testid=current-price]").inner_text() == \
            f"¥{cut['current_price_fen'] // 100:,}.{cut['current_price_fen'] % 100:02d}"

        page.click("[data-testid=group-buy-tabs] >> text=门店裂变排行")
        page.wait_for_selector("[data-testid=chart-store-kpis][data-rendered='1']")
        store_row = page.locator(f"[data-testid=kpi-table] tr[data-store-code='{store_code}']")
        assert store_row.locator("[data-testid=leaders]").inner_text() == "2"
        assert store_row.locator("[data-testid=bait-buyers]").inner_text() == "3"
        assert store_row.locator("[data-testid=converted]").inner_text() == "1 (33.3%)"
        page.click("text=English")
        page.wait_for_selector("h1:has-text('Store fission leaderboard')")
