"""Follow-ups in real headless Chromium on a phone-sized screen: a staff member sees their
tasks with the masked script, marks one done with an outcome and the next contact date
(which opens the next task), skips another; the page fits the phone's width; the store
manager then reads completion per staff member."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.campaigns.support import approved_content, new_customer, new_store, order
from tests.conftest import TEST_DATA_KEY
from tests.support.browser import chromium, log_in
from tests.support.factories import SYSTEM, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.campaigns import follow_ups
from yutang.campaigns.follow_ups_models import FollowUpKind, FollowUpTask
from yutang.campaigns.follow_ups_schemas import FollowUpRuleIn
from yutang.config import Settings
from yutang.kit.clock import to_local, utcnow
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_staff_work_follow_ups_on_a_phone_and_the_manager_sees_completion(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'follow-ups-browser.db'}"
    upgrade(url)
    engine = create_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        store = new_store(session)
        staff = make_user(session, "fu_staff", Role.STAFF, store)
        make_user(session, "fu_manager", Role.STORE_MANAGER, store)
        script = approved_content(session, body="{name}您好，我是{store}的店员，想听听您的意见")
        follow_ups.create_rule(session, actor=SYSTEM, data=FollowUpRuleIn(
            name="首单回访", kind=FollowUpKind.FIRST_ORDER, content_id=script.id, days=3))
        customers = [new_customer(session, store, name=name) for name in ("王小明", "李华")]
        for number, customer in enumerate(customers):
            order(session, customer, at=utcnow() - timedelta(days=3, hours=number + 1))
        follow_ups.generate_tasks(session, actor=SYSTEM)
        store_name, staff_id = store.name, staff.id
        first_id, second_id = (customer.id for customer in customers)
    settings = Settings(database_url=url, data_key=TEST_DATA_KEY,
                        data_key_file=tmp_path / "unused.key")
    next_day = (to_local(utcnow()) + timedelta(days=3)).date().isoformat()
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN", viewport=PHONE)
        log_in(page, base, "fu_staff")
        page.click("nav.sidebar >> text=回访")
        page.wait_for_selector("[data-testid=follow-up-count][data-count='2']")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        first = page.locator(f"[data-testid=follow-up][data-customer-id='{first_id}']")
        assert first.locator("[data-testid=script]").inner_text() == (
            f"王**您好，我是{store_name}的店员，想听听您的意见")
        form = first.locator("[data-testid=done-form]")
        form.locator("select[name=outcome]").select_option("reached")
        form.locator("input[name=note]").fill("周末来店取货")
        form.locator("input[name=next_contact_on]").fill(next_day)
        form.locator("button[type=submit]").click()
        # The done task left the list; the next contact opened a new one for that customer.
        page.wait_for_selector("[data-testid=follow-up-count][data-count='2']")
        second = page.locator(f"[data-testid=follow-up][data-customer-id='{second_id}']")
        second.locator("[data-testid=skip-form] button").click()
        page.wait_for_selector("[data-testid=follow-up-count][data-count='1']")
        remaining = page.locator("[data-testid=follow-up]")
        assert remaining.get_attribute("data-customer-id") == str(first_id)
        page.click("[data-testid=follow-up-tabs] >> text=已完成")
        closed = page.locator("[data-testid=follow-up] [data-testid=closed]")
        assert closed.inner_text() == f"已完成 · 已联系上 · 周末来店取货 · 下次 {next_day}"

        manager = browser.new_page(locale="zh-CN")
        log_in(manager, base, "fu_manager")
        end = (to_local(utcnow()) + timedelta(days=7)).date().isoformat()
        manager.goto(f"{base}/console/follow-ups/team?end={end}&start="
                     f"{to_local(utcnow()).date().isoformat()}")
        row = manager.locator("[data-testid=completion-table] tr[data-username=fu_staff]")
        assert row.locator("[data-testid=assigned]").inner_text() == "3"
        assert row.locator("[data-testid=done]").inner_text() == "1"
        assert row.locator("[data-testid=completion]").inner_text() == "67%"
    with unit_of_work(factory) as session:
        statuses = sorted(task.status for task in session.scalars(
            select(FollowUpTask).where(FollowUpTask.assignee_id == staff_id)))
        assert statuses == ["done", "open", "skipped"]
    engine.dispose()
