"""The analytics pages in real headless Chromium on a small generated demo: every page draws
its ECharts charts from the engine's figures, the review's Excel download holds the same
figures as the API, the analyst sees no personal data, in Chinese and in English."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page
from sqlalchemy import select

from tests.conftest import TEST_DATA_KEY
from tests.support.browser import chromium
from tests.support.factories import make_api_key
from tests.support.live_server import live_server
from yutang.access.roles import Principal, Role
from yutang.analytics import service
from yutang.config import Settings
from yutang.demo.generator import DEMO_PASSWORD, DemoOptions, generate_demo
from yutang.kit.crypto import get_protector
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade
from yutang.pool.models import Customer, Event, Order

pytestmark = pytest.mark.browser

DEMO = DemoOptions(customers=800, stores=3, seed=11, months=12)
CHARTS = {
    "layers?as_of=2026-11-01": ("chart-tiers", "chart-stages", "chart-tiers-by-store",
                                "chart-tiers-by-channel"),
    "value?as_of=2026-11-01": ("chart-cac", "chart-per-100"),
    "funnel?period=monthly&date=2026-10-01": ("chart-funnel", "chart-funnel-by-channel",
                                              "chart-funnel-by-store"),
    "cohorts?as_of=2026-11-01": ("chart-retention", "chart-cohort-revenue"),
    "reviews?kind=monthly&date=2026-10-01": ("chart-review-change", "chart-review-new",
                                             "chart-review-leaderboard"),
}


def _plant_funnel(session: Any) -> tuple[int, int]:
    """A view and an add-to-cart shortly before each October order of the demo (and a view
    without anything after it for as many other customers): (viewers, buyers)."""
    orders = session.execute(
        select(Order.customer_id, Order.channel_id, Order.store_id, Order.ordered_at)
        .where(Order.paid_at >= datetime(2026, 9, 30, 16, tzinfo=UTC),
               Order.paid_at < datetime(2026, 10, 31, 16, tzinfo=UTC))
        .order_by(Order.id)).all()
    buyers = {row.customer_id: row for row in orders}
    idle = session.scalars(select(Customer.id).where(Customer.id.not_in(list(buyers)),
                                                     Customer.merged_into_id.is_(None))
                           .limit(len(buyers))).all()
    events = []
    for number, row in enumerate(buyers.values()):
        for kind, minutes in (("view", 30), ("add_to_cart", 20)):
            events.append(Event(event_id=f"funnel-{number}-{kind}", type=kind,
                                customer_id=row.customer_id, channel_id=row.channel_id,
                                store_id=row.store_id,
                                occurred_at=row.ordered_at - timedelta(minutes=minutes)))
    for number, customer_id in enumerate(idle):
        events.append(Event(event_id=f"idle-{number}", type="view", customer_id=customer_id,
                            occurred_at=datetime(2026, 10, 10, 4, tzinfo=UTC)))
    session.add_all(events)
    session.flush()
    return len(buyers) + len(idle), len(buyers)


def _wait_for_charts(page: Page, ids: tuple[str, ...]) -> None:
    for chart in ids:
        page.wait_for_selector(f"#{chart}[data-rendered='1'] canvas", state="attached")


def test_the_analyst_pages_draw_the_engines_figures_and_the_excel_matches_the_api(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'analytics-browser.db'}"
    upgrade(url)
    engine = create_engine(url)
    generate_demo(engine, DEMO)
    settings = Settings(database_url=url, data_key=TEST_DATA_KEY,
                        data_key_file=tmp_path / "unused.key",
                        analytics_dir=tmp_path / "extract")
    with unit_of_work(make_session_factory(engine)) as session:
        viewers, buyers = _plant_funnel(session)
        api_key = make_api_key(session, Role.ANALYST)
        sample = session.scalars(select(Customer).where(Customer.phone.is_not(None))
                                 .order_by(Customer.id).limit(20)).all()
        personal = [value for customer in sample for value in (customer.name, customer.phone)
                    if value]
        service.refresh(session, service.AnalyticsSetup.from_settings(settings),
                        principal=Principal.system("tests"), as_of=date(2026, 11, 1))
    engine.dispose()
    assert len(personal) == 40 and get_protector() is not None
    headers = {"Authorization": f"Bearer {api_key}"}
    service.clear_cache()

    with live_server(settings) as base, chromium() as browser:
        context = browser.new_context(locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        page.goto(f"{base}/console/login")
        page.fill("input[name=username]", "analyst")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/console/")
        page.click("nav.sidebar >> text=数据分析")
        page.wait_for_selector("h1:has-text('用户分层')")

        texts = []
        for path, ids in CHARTS.items():
            page.goto(f"{base}/console/analytics/{path}")
            _wait_for_charts(page, ids)
            texts.append(page.content())
        assert [value for value in personal if any(value in text for text in texts)] == []

        funnel = httpx.get(f"{base}/api/v1/analytics/funnel?period=monthly&date=2026-10-01",
                           headers=headers).json()
        everyone = next(row for row in funnel["rows"] if row["dimension"] == "all")
        # The demo's planted OneID events add a few views of their own (and no carts).
        assert (everyone["carted"], everyone["paid"]) == (buyers, buyers)
        assert viewers <= everyone["viewed"] <= viewers + 20
        page.goto(f"{base}/console/analytics/funnel?period=monthly&date=2026-10-01")
        row = page.locator("[data-testid=funnel-table] tr[data-dimension=all]")
        assert row.locator("[data-step=viewed]").inner_text() == f"{everyone['viewed']:,}"
        assert row.locator("[data-step=paid]").inner_text() == f"{buyers:,}"

        value = httpx.get(f"{base}/api/v1/analytics/channel-value?as_of=2026-11-01",
                          headers=headers).json()
        assert value["model_error"] is None and value["models"]["bgnbd"]["r"] > 0
        page.goto(f"{base}/console/analytics/value?as_of=2026-11-01")
        for channel in value["by_channel"]:
            if channel["new_customers"] or channel["spend_fen"]:
                shown = page.locator(f"[data-channel='{channel['channel_code']}'] "
                                     "[data-testid=new-customers]").inner_text()
                assert shown == f"{channel['new_customers']:,}"

        page.goto(f"{base}/console/analytics/reviews?kind=monthly&date=2026-10-01")
        _wait_for_charts(page, CHARTS["reviews?kind=monthly&date=2026-10-01"])
        with page.expect_download() as download_info:
            page.click("[data-testid=review-download]")
        saved = tmp_path / "review.xlsx"
        download_info.value.save_as(saved)
        summary = load_workbook(saved)["summary"]
        in_excel = {row[1]: (row[2], row[3])
                    for row in summary.iter_rows(min_row=3, values_only=True)}
        review = httpx.get(f"{base}/api/v1/analytics/reviews/monthly?date=2026-10-01",
                           headers=headers).json()
        assert in_excel == {figure["key"]: (_shown(figure, figure["current"]),
                                            _shown(figure, figure["previous"]))
                            for figure in review["figures"]}
        assert in_excel["gmv_fen"][0] > 0 and in_excel["paid_orders"][0] > 0
        cell = page.locator("[data-testid=review-figures] tr[data-figure=paid_orders] td")
        assert float(cell.nth(1).get_attribute("data-value") or "nan") == \
            in_excel["paid_orders"][0]

        page.click("text=English")
        page.wait_for_selector("h1:has-text('Reviews')")
        page.goto(f"{base}/console/analytics/layers?as_of=2026-11-01")
        page.wait_for_selector("h1:has-text('Layering')")
        _wait_for_charts(page, CHARTS["layers?as_of=2026-11-01"])
        assert "Value tiers by store" in page.content()
        context.close()


def _shown(figure: dict[str, Any], value: float | None) -> float | None:
    if value is None:
        return None
    if figure["kind"] == "fen":
        return round(value / 100.0, 2)
    return round(value, 4) if figure["kind"] in ("ratio", "number") else value
