"""The operator-load page in real headless Chromium: an HQ operator opens it from the campaign
tabs, picks ISO week 2026-W50 in the week field and reads each staff member's tasks to confirm
and minutes, and the flag of the campaign whose text forces one task per customer; the week
before holds what fell just before its Monday; the page reads the same in English."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.campaigns.operator_load_support import WEEK, constructed_week
from tests.support.browser import chromium, log_in
from tests.support.databases import served_sqlite
from tests.support.factories import make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.kit.db import make_session_factory, unit_of_work

pytestmark = pytest.mark.browser


def test_an_operator_reads_a_week_of_staff_work(tmp_path: Path) -> None:
    settings, engine = served_sqlite(tmp_path, "operator-load-browser")
    with unit_of_work(make_session_factory(engine)) as session:
        week = constructed_week(session)
        make_user(session, "load_hq", Role.HQ_OPERATOR)
    engine.dispose()
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "load_hq")
        page.goto(f"{base}/console/campaigns")
        page.click("text=运营工作量")
        page.wait_for_selector("[data-testid=operator-load-week]")
        page.fill("input[name=week]", WEEK)
        page.click("[data-testid=operator-load-form] button[type=submit]")
        page.wait_for_selector(f"[data-testid=operator-load-week][data-week='{WEEK}']")
        staff_a = page.locator("tr[data-staff='staff-a']")
        assert staff_a.locator("[data-testid=tasks]").inner_text() == "3"
        assert staff_a.locator("[data-testid=minutes]").inner_text() == "13.5"
        total = page.locator("[data-testid=operator-load-total]")
        assert total.locator("[data-testid=tasks]").inner_text() == "8"
        assert total.locator("[data-testid=minutes]").inner_text() == "33.0"
        scale = page.locator("[data-testid=operator-load-scale]")
        assert scale.locator("[data-testid=scheduled-share]").inner_text() == "86.5%"
        assert scale.locator("[data-testid=per-10000]").inner_text() == "21,428.57"
        personal = page.locator(f"tr[data-campaign-id='{week['personal']}']")
        assert personal.get_attribute("data-one-task-per-recipient") == "true"
        shared = page.locator(f"tr[data-campaign-id='{week['shared']}']")
        assert shared.get_attribute("data-one-task-per-recipient") == "false"

        page.click("text=上一周")
        page.wait_for_selector("[data-testid=operator-load-week][data-week='2026-W49']")
        before = page.locator("[data-testid=operator-load-total]")
        # the week before: one task of three customers sent a second before Monday, one
        # follow-up an hour before it and one Moments post two hours before it
        assert before.locator("[data-testid=tasks]").inner_text() == "1"
        assert before.locator("[data-testid=customers]").inner_text() == "3"
        assert before.locator("[data-testid=follow-ups]").inner_text() == "1"
        assert before.locator("[data-testid=moments]").inner_text() == "1"

        page.click("text=English")
        page.goto(f"{base}/console/campaigns/operator-load?week={WEEK}")
        assert "Operator load" in page.inner_text("h1")
        assert page.locator("[data-testid=operator-load-total] [data-testid=tasks]"
                            ).inner_text() == "8"
