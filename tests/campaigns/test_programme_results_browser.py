"""A programme's results in real headless Chromium: the campaign builder offers the fission
task to promote; once the campaign has treated and held-out customers, the task's page shows
its results against that holdout, and a group-buy deal promoted without a holdout says so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.campaigns.programme_population import (
    SEND,
    deliver,
    points_task,
    promoting_campaign,
)
from tests.campaigns.support import approved_content, new_customer, new_store, order, segment
from tests.conftest import TEST_DATA_KEY
from tests.support.browser import chromium, log_in
from tests.support.factories import SYSTEM, make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.campaigns.models import Campaign, DeliveryStatus
from yutang.config import Settings
from yutang.fission import group_buy
from yutang.fission.group_buy_schemas import GroupBuyDealCreate
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade

pytestmark = pytest.mark.browser


def test_the_task_and_deal_pages_show_results_against_the_promoting_holdout(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'programmes-browser.db'}"
    upgrade(url)
    engine = create_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        store = new_store(session)
        customers = [new_customer(session, store) for _ in range(4)]
        segment(session, {"field": "store", "op": "eq", "value": store.id}, name="本店顾客")
        approved_content(session)
        task = points_task(session)
        deal = group_buy.create_deal(session, actor=SYSTEM, data=GroupBuyDealCreate(
            name="99元年卡拼团", product_sku="GB-BROWSER", bait_price_fen=9_900,
            list_price_fen=150_000, team_size=2, time_limit_minutes=60, stock=10))
        unmeasured = promoting_campaign(session, store, promoted_deal_id=deal.id,
                                        holdout_share=0.0)
        deliver(session, unmeasured, customers[0], DeliveryStatus.SENT)
        make_user(session, "hq_programmes", Role.HQ_OPERATOR)
        task_id, task_name, deal_id = task.id, task.name, deal.id
    settings = Settings(database_url=url, data_key=TEST_DATA_KEY,
                        data_key_file=tmp_path / "unused.key")
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "hq_programmes")

        page.goto(f"{base}/console/campaigns/new")
        form = page.locator("[data-testid=campaign-form]")
        form.locator("input[name=name]").fill("任务宝推广")
        form.locator("select[name=segment_id]").select_option(label="本店顾客")
        form.locator("select[name=promotes]").select_option(label=task_name)
        form.locator("input[name=holdout_percent]").fill("50")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=promotes]")

        with unit_of_work(factory) as session:
            promoting = session.scalars(select(Campaign).where(
                Campaign.promoted_task_id == task_id)).one()
            for customer, status in zip(customers, (DeliveryStatus.SENT, DeliveryStatus.SENT,
                                                    DeliveryStatus.HOLDOUT,
                                                    DeliveryStatus.HOLDOUT), strict=True):
                deliver(session, promoting, customer, status)
            order(session, customers[0], at=SEND + timedelta(days=1), paid_fen=12_300)

        page.click("[data-testid=promotes] a")
        page.wait_for_selector("[data-testid=programme-results]")
        assert page.locator("[data-testid=treated]").inner_text() == "2"
        assert page.locator("[data-testid=holdout]").inner_text() == "2"
        assert page.locator("[data-testid=uplift]").inner_text() == "+50.00 pp"
        assert page.locator("[data-testid=incremental-gmv]").inner_text() == "¥123.00"
        assert page.locator("[data-testid=participants]").inner_text() == "0"
        assert page.locator("[data-testid=no-holdout]").count() == 0

        page.goto(f"{base}/console/group-buy/deals/{deal_id}")
        page.wait_for_selector("[data-testid=no-holdout]")
        assert page.locator("[data-testid=uplift]").inner_text() == "—"
        assert page.locator("[data-testid=treated]").inner_text() == "1"
        page.click("text=English")
        page.wait_for_selector("[data-testid=no-holdout]:has-text('held anyone out')")
    engine.dispose()
