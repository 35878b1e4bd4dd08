"""Staff Moments in real headless Chromium: HQ creates a task from an approved template through
the form; a staff member, on a phone-sized screen, sees the copy filled for their store and
marks it posted (the page fits the phone's width); HQ then reads the reach on the task's page
and marks the other staff member's post for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.campaigns.moments_support import brought_in, moments_content, wecom_contacts
from tests.campaigns.support import new_store
from tests.support.browser import chromium, log_in
from tests.support.databases import served_sqlite
from tests.support.factories import make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.campaigns.moments_models import MomentPost
from yutang.kit.db import make_session_factory, unit_of_work

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_hq_creates_a_moments_task_and_staff_post_it_on_a_phone(tmp_path: Path) -> None:
    settings, engine = served_sqlite(tmp_path, "moments-browser")
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        store = new_store(session)
        poster = make_user(session, "mo_poster", Role.STAFF, store)
        other = make_user(session, "mo_other", Role.STAFF, store)
        make_user(session, "mo_hq", Role.HQ_OPERATOR)
        wecom_contacts(session, poster, active=1_000)
        brought_in(session, other, store, 3)
        moments_content(session, body="{store}冬季草莓到店，欢迎来尝")
        store_id, store_name = store.id, store.name
        poster_id, other_id = poster.id, other.id
    with live_server(settings) as base, chromium() as browser:
        hq = browser.new_page(locale="zh-CN")
        log_in(hq, base, "mo_hq")
        hq.goto(f"{base}/console/campaigns")
        hq.click("[data-testid=campaigns-tabs] >> text=朋友圈任务")
        hq.wait_for_url(f"{base}/console/campaigns/moments")
        form = hq.locator("[data-testid=moment-task-form]")
        form.locator("input[name=title]").fill("冬季草莓")
        form.locator("textarea[name=image_urls]").fill("https://img.example.com/berry.jpg")
        form.locator("select[name=store_ids]").select_option(str(store_id))
        form.locator("button[type=submit]").click()
        hq.wait_for_url(f"{base}/console/campaigns/moments/*")
        assert hq.locator("[data-testid=task-posted]").inner_text() == "0 / 2"
        assert hq.locator("[data-testid=task-potential-reach]").inner_text() == "1,003"
        assert hq.locator("[data-testid=task-reach]").inner_text() == "0"
        detail_url = hq.url

        staff = browser.new_page(locale="zh-CN", viewport=PHONE)
        log_in(staff, base, "mo_poster")
        staff.click("nav.sidebar >> text=朋友圈")
        staff.wait_for_selector("[data-testid=moment-count][data-count='1']")
        assert staff.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        moment = staff.locator("[data-testid=moment]")
        assert moment.locator("[data-testid=moment-text]").inner_text() == (
            f"{store_name}冬季草莓到店，欢迎来尝")
        assert moment.locator("[data-testid=moment-attachment]").count() == 2  # poster, photo
        moment.locator("[data-testid=posted-form] button").click()
        staff.wait_for_selector("[data-testid=moment-count][data-count='0']")
        staff.click("[data-testid=moment-tabs] >> text=已发")
        status = staff.locator("[data-testid=moment] [data-testid=moment-status]").inner_text()
        assert status.startswith("已发 · ") and status.endswith("1,000 位好友可见")

        hq.goto(detail_url)
        assert hq.locator("[data-testid=task-posted]").inner_text() == "1 / 2"
        assert hq.locator("[data-testid=task-reach]").inner_text() == "1,000"
        waiting = hq.locator("[data-testid=moment-post-table] tr[data-username=mo_other]")
        assert waiting.locator("[data-testid=post-status]").inner_text() == "待发"
        waiting.locator("[data-testid=mark-form] button").click()
        hq.wait_for_selector("[data-testid=moment-post-table] tr[data-username=mo_other]"
                             "[data-status=posted]")
        assert hq.locator("[data-testid=task-posted]").inner_text() == "2 / 2"
        assert hq.locator("[data-testid=task-reach]").inner_text() == "1,003"
    with unit_of_work(factory) as session:
        marked = dict(session.execute(select(MomentPost.staff_user_id,
                                             MomentPost.marked_by)).all())
        assert marked == {poster_id: "mo_poster", other_id: "mo_hq"}
    engine.dispose()
