"""The groups pages in real headless Chromium: filter the list to dead groups, merge a dead
group into the suggested one from the dead-group page, create a group code through its form
and watch scans route into the group with room."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.groups.support import make_shop
from tests.support.browser import chromium, log_in
from tests.support.databases import served_sqlite
from tests.support.factories import SYSTEM, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.groups import service
from yutang.groups.models import GroupStatus
from yutang.groups.schemas import GroupCreate, MemberIn
from yutang.kit.db import make_session_factory, unit_of_work

pytestmark = pytest.mark.browser


def test_hq_merges_a_dead_group_and_creates_a_group_code(tmp_path: Path) -> None:
    settings, engine = served_sqlite(tmp_path, "groups-browser")
    with unit_of_work(make_session_factory(engine)) as session:
        shop = make_shop(session, customers=8)
        make_user(session, "hq_groups", Role.HQ_OPERATOR)
        dead = service.create_group(session, actor=SYSTEM, data=GroupCreate(
            store_code=shop.store.code, name="沉寂群", owner_username=shop.owner.username))
        alive = service.create_group(session, actor=SYSTEM, data=GroupCreate(
            store_code=shop.store.code, name="热闹群", owner_username=shop.owner.username))
        for customer in shop.customers[:5]:
            service.add_member(session, actor=SYSTEM, group_id=dead.id,
                               data=MemberIn(customer_id=customer.id))
        for customer in shop.customers[5:7]:
            service.add_member(session, actor=SYSTEM, group_id=alive.id,
                               data=MemberIn(customer_id=customer.id))
        dead.status, dead.dead_reason = GroupStatus.DEAD.value, "low_activity"
        ids = (dead.id, alive.id, shop.customers[7].id, shop.store.code, shop.key)
    engine.dispose()
    dead_id, alive_id, newcomer, store_code, api_key = ids
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "hq_groups")
        page.click("nav.sidebar >> text=社群")
        page.wait_for_selector("[data-testid=group-table]")
        assert page.locator("[data-testid=group-table] tbody tr").count() == 2
        page.select_option("[data-testid=group-filters] select[name=status]", "dead")
        page.click("[data-testid=group-filters] button[type=submit]")
        page.wait_for_url("**status=dead**")
        rows = page.locator("[data-testid=group-table] tbody tr")
        assert rows.count() == 1 and "沉寂群" in rows.inner_text()
        assert rows.locator("[data-testid=status]").inner_text() == "死群"

        page.click("[data-testid=groups-tabs] >> text=死群")
        row = page.locator(f"[data-testid=dead-group-table] tr[data-group-id='{dead_id}']")
        row.wait_for()
        suggestion = row.locator("[data-testid=suggestion]")
        assert suggestion.get_attribute("data-action") == "merge"
        assert suggestion.inner_text() == "合并到 热闹群"
        row.locator("[data-testid=merge-form] button").click()
        page.wait_for_selector("text=没有死群。")

        page.goto(f"{base}/console/groups")
        merged_into = page.locator(f"[data-testid=group-table] tr[data-group-id='{alive_id}']")
        assert merged_into.locator("[data-testid=members]").inner_text() == "7 / 50"

        page.click("[data-testid=groups-tabs] >> text=群活码")
        form = page.locator("[data-testid=group-code-form]")
        form.locator("select[name=store_code]").select_option(store_code)
        form.locator("input[name=name]").fill("周末活动")
        form.locator("input[name=capacity]").fill("6")
        form.locator("button[type=submit]").click()
        code_row = page.locator("[data-testid=group-code-table] tbody tr", has_text="周末活动")
        code_row.wait_for()
        code_id = code_row.get_attribute("data-code-id")
        scanned = httpx.post(f"{base}/api/v1/group-codes/{code_id}/scan",
                             json={"customer_id": newcomer},
                             headers={"Authorization": f"Bearer {api_key}"})
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["group"]["name"] == "周末活动1群"
        page.reload()
        code_row = page.locator("[data-testid=group-code-table] tbody tr", has_text="周末活动")
        assert code_row.locator("[data-testid=scans]").inner_text() == "1"
        assert "周末活动1群 1 / 6" in code_row.locator("[data-testid=routing]").inner_text()
        page.click("text=English")
        page.wait_for_selector("h1:has-text('Group codes')")

