"""The campaigns pages in real headless Chromium: build a segment with the rule builder and
watch its live count, write content and approve it, create a campaign through the builder and
read its plan preview with the count each rule suppresses, then the results page's chart."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.campaigns.support import new_customer, new_store, order
from tests.conftest import TEST_DATA_KEY
from tests.support.browser import chromium, log_in
from tests.support.factories import make_user
from tests.support.live_server import live_server
from yutang.access.roles import Role
from yutang.campaigns import service
from yutang.campaigns.holdout import is_held_out
from yutang.campaigns.models import Campaign, Delivery, DeliveryStatus, Segment
from yutang.config import Settings
from yutang.kit.clock import to_local, utcnow
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade
from yutang.pool.models import Customer

pytestmark = pytest.mark.browser


def test_hq_builds_a_segment_content_and_a_campaign_and_reads_its_results(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'campaigns-browser.db'}"
    upgrade(url)
    engine = create_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        store = new_store(session)
        reachable = [new_customer(session, store, name=name).id
                     for name in ("王小明", "李华", "赵敏", "钱多多", "孙悟空", "周芷若")]
        new_customer(session, store, consent=False)  # opted out
        new_customer(session, store, consent=None)  # never asked
        new_customer(session, store, wecom=False)  # unreachable
        new_customer(session, new_store(session))  # another store
        make_user(session, "hq_campaigns", Role.HQ_OPERATOR)
        store_id, store_name = store.id, store.name
    settings = Settings(database_url=url, data_key=TEST_DATA_KEY,
                        data_key_file=tmp_path / "unused.key")
    with live_server(settings) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN")
        log_in(page, base, "hq_campaigns")
        page.click("nav.sidebar >> text=人群与活动")
        page.wait_for_selector("[data-testid=campaign-table]")

        # A segment: drop the starting consent condition, keep the customers of one store.
        page.click("[data-testid=campaigns-tabs] >> text=人群")
        builder = page.locator("[data-testid=rule-builder]")
        builder.locator("[data-testid=rule-condition]").wait_for()
        page.wait_for_selector("[data-testid=segment-live-count]")
        builder.locator("[data-testid=add-condition]").first.click()
        condition = builder.locator("[data-testid=rule-condition]").nth(1)
        condition.locator("[data-role=field]").select_option("store")
        condition.locator("[data-role=op]").select_option("eq")
        condition.locator("[data-role=one]").select_option(str(store_id))
        builder.locator("[data-testid=rule-condition]").nth(0).locator(
            "button", has_text="删除").click()
        page.click("[data-testid=segment-count]")
        page.wait_for_selector("[data-testid=segment-live-count][data-count='9']")
        preview = page.locator("[data-testid=segment-preview-table] tbody tr")
        assert preview.count() == 9
        names = preview.locator("[data-testid=name]").all_inner_texts()
        assert "王**" in names and "王小明" not in names
        assert json.loads(page.locator("[data-testid=rule-json]").input_value()) == {
            "all": [{"field": "store", "op": "eq", "value": store_id}]}
        page.fill("#segment-form input[name=name]", "本店全部顾客")
        page.click("[data-testid=segment-save]")
        row = page.locator("[data-testid=segment-table] tbody tr", has_text="本店全部顾客")
        row.wait_for()
        assert row.locator("[data-testid=count]").inner_text() == "9"

        # Content: write it with variables, approve it, preview it for a real customer.
        page.click("[data-testid=campaigns-tabs] >> text=内容库")
        form = page.locator("[data-testid=content-form]")
        form.locator("input[name=name]").fill("周末上新")
        form.locator("select[name=category]").select_option("promotion")
        form.locator("textarea[name=body]").fill("{name}您好，{store}周末上新，凭券立减")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=content-status][data-status=draft]")
        page.click("[data-testid=approve-form] button")
        page.wait_for_selector("[data-testid=content-status][data-status=approved]")
        page.fill("[data-testid=content-preview-form] input[name=customer_id]",
                  str(reachable[0]))
        page.click("[data-testid=content-preview-form] button")
        assert page.locator("[data-testid=content-preview]").inner_text() == (
            f"王**您好，{store_name}周末上新，凭券立减")

        # A campaign for tomorrow noon with a 50% holdout, and its plan preview.
        page.click("[data-testid=campaigns-tabs] >> text=活动")
        page.click("[data-testid=new-campaign]")
        form = page.locator("[data-testid=campaign-form]")
        form.locator("input[name=name]").fill("周末上新提醒")
        form.locator("select[name=segment_id]").select_option(label="本店全部顾客 (9)")
        send_at = to_local(utcnow() + timedelta(days=1)).replace(hour=12, minute=0,
                                                                 second=0, microsecond=0)
        form.locator("input[name=send_at]").fill(send_at.strftime("%Y-%m-%dT%H:%M"))
        form.locator("input[name=holdout_percent]").fill("50")
        form.locator("input[name=sender_userid]").fill("staff-hq")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=plan-preview]")
        with unit_of_work(factory) as session:
            campaign_id = session.scalars(select(Campaign.id)).one()
        held = sum(is_held_out(campaign_id, customer, 5000) for customer in reachable)
        assert page.locator("[data-testid=plan-audience]").inner_text() == "9"
        assert page.locator("[data-testid=plan-planned]").inner_text() == str(6 - held)
        assert page.locator("[data-testid=plan-holdout]").inner_text() == str(held)
        assert page.locator("[data-testid=plan-suppressed]").inner_text() == "3"
        counts = {reason: page.locator(f"[data-testid=suppression-table] "
                                       f"tr[data-reason={reason}] td.money").inner_text()
                  for reason in ("opted_out", "no_consent", "unreachable", "risk",
                                 "customer_cap", "quiet_hours")}
        assert counts == {"opted_out": "1", "no_consent": "1", "unreachable": "1",
                          "risk": "0", "customer_cap": "0", "quiet_hours": "0"}
        page.click("[data-testid=status-actions] button[data-action=active]")
        page.wait_for_selector("[data-testid=campaign-status][data-status=active]")

        page.click("[data-testid=campaigns-tabs] >> text=日历")
        entry = page.locator(f"td[data-day='{send_at.date().isoformat()}'] "
                             f"[data-testid=calendar-entry][data-campaign-id='{campaign_id}']")
        assert entry.count() == 1
        assert page.locator("[data-testid=calendar-entry]").count() == 1

        # The run is planned and sent (as the sender would); one treated customer buys.
        moment = send_at.astimezone(UTC)
        with unit_of_work(factory) as session:
            service.plan_due(session, now=moment - timedelta(hours=1))
            session.execute(update(Delivery).where(
                Delivery.status == DeliveryStatus.PLANNED.value).values(
                status=DeliveryStatus.SENT.value, sent_at=moment))
            treated = [customer for customer in reachable
                       if not is_held_out(campaign_id, customer, 5000)]
            assert treated  # the hash is stable: a fresh SQLite file gives the same ids
            for customer_id in treated[:1]:
                order(session, session.get_one(Customer, customer_id),
                      at=moment + timedelta(days=1), paid_fen=12_300)
            assert session.scalar(select(Segment.last_count)) == 9
        page.goto(f"{base}/console/campaigns/{campaign_id}/results")
        page.wait_for_selector("#chart-conversion[data-rendered='1'] canvas", state="attached")
        page.wait_for_selector("#chart-daily[data-rendered='1'] canvas", state="attached")
        page.wait_for_selector("#chart-value[data-rendered='1'] canvas", state="attached")
        assert page.locator("#chart-conversion").get_attribute("data-series") == "2"
        assert page.locator("[data-testid=treated]").inner_text() == str(6 - held)
        assert page.locator("[data-testid=holdout]").inner_text() == str(held)
        assert page.locator("[data-testid=incremental-gmv]").inner_text() == "¥123.00"
        page.click("text=English")
        page.wait_for_selector("h1:has-text('Results')")
    engine.dispose()
