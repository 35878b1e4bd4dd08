"""The fission pages in real headless Chromium: HQ builds a task with the form, friends join
through a participant's code over the API, the task's referral tree is drawn by ECharts with
every node, the K-factor shows, and a partner is added with the form."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.offers.support import make_customers
from tests.support.browser import chromium, log_in
from tests.support.databases import served_sqlite
from tests.support.factories import make_api_key, make_store, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.kit.db import make_session_factory, unit_of_work

pytestmark = pytest.mark.browser


def test_hq_builds_a_task_and_sees_its_referral_tree(tmp_path: Path) -> None:
    settings, engine = served_sqlite(tmp_path, "fission-browser")
    with unit_of_work(make_session_factory(engine)) as session:
        store = make_store(session, "T01", "徐汇店")
        make_user(session, "hq_fission", Role.HQ_OPERATOR)
        api_key = make_api_key(session, Role.HQ_OPERATOR)
        leader, *friends = [customer.id for customer in make_customers(session, store, 4)]
    engine.dispose()
    headers = {"Authorization": f"Bearer {api_key}"}
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "hq_fission")
        page.click("nav.sidebar >> text=裂变")
        form = page.locator("[data-testid=fission-task-form]")
        form.locator("input[name=name]").fill("邀2位好友送积分")
        form.locator("input[name=invite_target]").fill("2")
        form.locator("select[name=reward_kind]").select_option("points")
        form.locator("input[name=reward_points]").fill("300")
        form.locator("button[type=submit]").click()
        row = page.locator("[data-testid=fission-task-table] tbody tr",
                           has_text="邀2位好友送积分")
        row.wait_for()
        assert "7 天内邀请 2 位好友加入" in row.inner_text()
        task_id = row.get_attribute("data-task-id")

        started = httpx.post(f"{base}/api/v1/fission-tasks/{task_id}/participants",
                             json={"customer_id": leader}, headers=headers)
        assert started.status_code == 201, started.text
        for friend in friends:
            joined = httpx.post(f"{base}/api/v1/referrals", headers=headers, json={
                "code": started.json()["code"], "customer_id": friend, "status": "joined"})
            assert joined.status_code == 201, joined.text

        page.reload()
        assert page.locator("[data-testid=k-factor]").inner_text() == "3.00"
        row.locator("a", has_text="推荐树").click()
        page.wait_for_selector("[data-testid=fission-tree][data-rendered='1']")
        assert page.locator("[data-testid=fission-tree-count]").inner_text() == "共 5 个节点"
        canvas = page.locator("[data-testid=fission-tree] canvas")
        assert canvas.count() >= 1 and canvas.first.bounding_box() is not None

        page.click("[data-testid=fission-tabs] >> text=友商")
        partner_form = page.locator("[data-testid=partner-form]")
        partner_form.locator("input[name=code]").fill("bakery")
        partner_form.locator("input[name=name]").fill("街角面包")
        partner_form.locator("button[type=submit]").click()
        partner = page.locator("[data-testid=partner-table] tbody tr", has_text="街角面包")
        partner.wait_for()
        assert partner.locator("[data-testid=sent-to-us]").inner_text() == "0"

        missing = httpx.get(f"{base}/i/rf-unknown")
        assert missing.status_code == 404
