"""The analytics API and console pages on a pool with known numbers (``pool_data``): the
figures they show are the engine's, a missing extract is offered as a refresh, a store
manager sees their store only, and an analyst sees everything without personal data."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.analytics.pool_data import PoolData, add_order, build_pool
from tests.conftest import TEST_DATA_KEY
from tests.support.console import csrf_token_in, logged_in
from tests.support.factories import make_api_key, make_customer, make_user
from yutang.access.models import AuditEntry
from yutang.access.roles import Principal, Role
from yutang.analytics import service
from yutang.config import Settings
from yutang.org.models import Store
from yutang.pool.models import Customer

NAME, PHONE = "欧阳娜娜", "13912345678"
PERSONAL = (NAME, "欧阳*", "欧*", PHONE, "139****5678", "12345678")
PAGES = ("/console/analytics/layers?as_of=2026-11-01",
         "/console/analytics/value?as_of=2026-11-01",
         "/console/analytics/funnel?period=monthly&date=2026-10-15",
         "/console/analytics/cohorts?as_of=2026-11-01",
         "/console/analytics/reviews?kind=monthly&date=2026-10-01")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_key=TEST_DATA_KEY,
                    data_key_file=tmp_path / "unused.key", analytics_dir=tmp_path / "extract")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    service.clear_cache()


def _pool(db: Session) -> PoolData:
    data = build_pool(db)
    store = db.get_one(Store, data.stores["S1"])
    named = make_customer(db, store=store, name=NAME, phone=PHONE,
                          acquired_at=datetime(2026, 8, 1, 2, tzinfo=UTC))
    named.acquisition_channel_id = data.channels["WECOM"]
    data.customers["named"] = named.id
    add_order(db, data, "o-named", customer="named", paid="2026-10-12", fen=12_300, store="S1")
    make_user(db, "hq_a", Role.HQ_OPERATOR)
    make_user(db, "analyst_a", Role.ANALYST)
    make_user(db, "manager_s1", Role.STORE_MANAGER, store=store)
    db.flush()
    return data


def _refresh(client: TestClient, back: str) -> Any:
    page = client.get(back)
    assert page.status_code == 409
    assert 'data-testid="analytics-missing"' in page.text
    return client.post("/console/analytics/refresh", data={
        "csrf_token": csrf_token_in(page.text), "as_of": "2026-11-01", "back": back},
        follow_redirects=False)


def test_a_missing_extract_is_offered_as_a_refresh_that_then_shows_the_figures(
        db: Session, client: TestClient) -> None:
    _pool(db)
    manager = logged_in(TestClient(client.app), "manager_s1")
    waiting = manager.get("/console/analytics/layers")
    assert waiting.status_code == 409
    assert 'data-testid="analytics-run-refresh"' not in waiting.text  # a store role may not
    audits_before = db.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "analytics.layers_written"))

    hq = logged_in(client, "hq_a")
    back = "/console/analytics/layers?as_of=2026-11-01"
    done = _refresh(hq, back)
    assert (done.status_code, done.headers["location"]) == (303, back)
    shown = hq.get(back)
    assert shown.status_code == 200
    stages = {stage: _cell(shown.text, f'data-stage="{stage}"') for stage in
              ("new", "active", "won_back", "at_risk", "lost")}
    # c2, c6, c8 new; c1 and the named customer active; c3 won back; c4 at risk; c5 lost
    assert stages == {"new": "3", "active": "2", "won_back": "1", "at_risk": "1", "lost": "1"}
    assert _cell(shown.text, 'data-tier="prospect"') == "2"  # c6 never bought, c8 refunded
    layered = db.scalar(select(func.count()).select_from(Customer)
                        .where(Customer.lifecycle_stage.is_not(None)))
    assert layered == 8  # written back: every live customer, c7 (merged) not
    audits_after = db.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "analytics.layers_written"))
    assert audits_after == (audits_before or 0) + 1


def _cell(html: str, marker: str) -> str:
    row = html[html.index(marker):]
    cell = row[row.index('class="money">') + len('class="money">'):]
    return cell[:cell.index("<")]


def test_api_figures_are_the_engines_and_a_store_key_sees_its_store(
        db: Session, client: TestClient, settings: Settings) -> None:
    data = _pool(db)
    analyst = {"Authorization": f"Bearer {make_api_key(db, Role.ANALYST)}"}
    store_key = {"Authorization": "Bearer " + make_api_key(
        db, Role.STORE_MANAGER, store=db.get_one(Store, data.stores["S1"]))}
    missing = client.get("/api/v1/analytics/layer-mix", headers=analyst)
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        409, "analytics_extract_missing")
    assert client.get("/api/v1/analytics/status", headers=analyst).json()["extracted"] is False
    refreshed = client.post("/api/v1/analytics/refresh?as_of=2026-11-01", headers=store_key)
    assert (refreshed.status_code, refreshed.json()["error"]["code"]) == (
        403, "analytics_refresh_not_allowed")
    refreshed = client.post("/api/v1/analytics/refresh?as_of=2026-11-01", headers=analyst)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["customers_layered"] == 8

    mix = client.get("/api/v1/analytics/layer-mix?as_of=2026-11-01", headers=analyst).json()
    stages = {row["layer"]: row["customers"] for row in mix["rows"]
              if row["dimension"] == "all" and row["layer_kind"] == "lifecycle_stage"}
    assert stages == {"new": 3, "active": 2, "won_back": 1, "at_risk": 1, "lost": 1}

    answer = client.get("/api/v1/analytics/channel-value?as_of=2026-11-01", headers=analyst)
    assert answer.status_code == 200, answer.text
    value = answer.json()
    cac = {row["channel_code"]: (row["new_customers"], row["spend_fen"], row["cac_fen"])
           for row in value["by_channel"]}
    # WECOM: c1, c4, c5 and the named customer (c7 merged); DOUYIN: c2, c3, c8
    assert cac == {"WECOM": (4, 30_000, 7_500.0), "DOUYIN": (3, 90_000, 30_000.0)}
    assert {row["channel_domain"] for row in value["by_domain"]} == {"private", "paid"}

    funnel = client.get("/api/v1/analytics/funnel?period=monthly&date=2026-10-15",
                        headers=analyst).json()
    everyone = next(row for row in funnel["rows"] if row["dimension"] == "all")
    assert [everyone[step] for step in ("viewed", "carted", "checked_out", "paid",
                                        "completed")] == [3, 2, 2, 2, 2]
    assert funnel["period"] == {"start": "2026-10-01", "end": "2026-11-01", "label": "2026-10"}

    cohorts = client.get("/api/v1/analytics/cohorts?as_of=2026-11-01", headers=analyst).json()
    september = [row for row in cohorts["rows"] if row["acquired_month"] == "2026-09-01"]
    assert [(row["month_offset"], row["customers"], row["revenue_fen"]) for row in september] \
        == [(0, 1, 10_000), (1, 1, 23_000)]  # c1, with c7's order folded in

    own = client.get("/api/v1/analytics/layer-mix?as_of=2026-11-01", headers=store_key).json()
    assert {row["key_code"] for row in own["rows"]} == {None, "S1"}
    assert sum(row["customers"] for row in own["rows"] if row["dimension"] == "all"
               and row["layer_kind"] == "value_tier") == 5  # c1, c2, c5, c6, named
    denied = client.get("/api/v1/analytics/channel-value", headers=store_key)
    assert (denied.status_code, denied.json()["error"]["code"]) == (
        403, "analytics_merchant_wide_only")
    review = client.get("/api/v1/analytics/reviews/monthly?date=2026-10-01&store=S2",
                        headers=store_key).json()
    assert review["store"] == "S1"  # a store key gets its own store, whatever it asks
    assert settings.analytics_dir.is_dir()


def test_an_analyst_sees_every_page_and_download_without_personal_data(
        db: Session, client: TestClient, settings: Settings) -> None:
    _pool(db)
    setup = service.AnalyticsSetup.from_settings(settings)
    service.refresh(db, setup, principal=Principal.system("tests"), as_of=date(2026, 11, 1))
    key = {"Authorization": f"Bearer {make_api_key(db, Role.ANALYST)}"}
    analyst = logged_in(client, "analyst_a")
    charts = {"layers": ("chart-tiers", "chart-stages", "chart-tiers-by-store",
                         "chart-tiers-by-channel"),
              "value": ("chart-cac", "chart-per-100"),
              "funnel": ("chart-funnel", "chart-funnel-by-channel", "chart-funnel-by-store"),
              "cohorts": ("chart-retention", "chart-cohort-revenue"),
              "reviews": ("chart-review-change", "chart-review-new",
                          "chart-review-leaderboard")}
    for path in PAGES:
        shown = analyst.get(path)
        assert shown.status_code == 200, path
        name = path.split("/")[3].split("?")[0]
        assert all(f'id="{chart}"' in shown.text for chart in charts[name]), path
        assert [text for text in PERSONAL if text in shown.text] == [], path
    assert 'data-testid="model-error"' in analyst.get(PAGES[1]).text  # 9 buyers: no fit

    download = analyst.get("/console/analytics/reviews.xlsx?kind=monthly&date=2026-10-01")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == \
        'attachment; filename="review-monthly-2026-10-01.xlsx"'
    workbook = load_workbook(io.BytesIO(download.content))
    cells = [str(cell) for sheet in workbook.worksheets
             for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None]
    assert [text for text in PERSONAL if any(text in cell for cell in cells)] == []
    api = client.get("/api/v1/analytics/reviews/monthly?date=2026-10-01", headers=key).json()
    summary = workbook["summary"]
    in_excel = {row[1]: (row[2], row[3]) for row in summary.iter_rows(min_row=3,
                                                                     values_only=True)}
    expected = {figure["key"]: (_shown(figure, figure["current"]),
                                _shown(figure, figure["previous"])) for figure in api["figures"]}
    assert in_excel == expected
    assert in_excel["gmv_fen"][0] == 473.0  # o2, o3, o5, o9, o-named; o10 was refunded
    for path in ("layer-mix", "channel-value", "funnel", "cohorts", "reviews/weekly"):
        body = client.get(f"/api/v1/analytics/{path}?as_of=2026-11-01", headers=key).text
        assert [text for text in PERSONAL if text in body] == [], path

    english = analyst.get(PAGES[0], cookies={"yutang_locale": "en"})
    assert "<h1>Layering</h1>" in english.text and "Lifecycle stages" in english.text


def _shown(figure: dict[str, Any], value: float | None) -> float | None:
    if value is None:
        return None
    if figure["kind"] == "fen":
        return round(value / 100.0, 2)
    return round(value, 4) if figure["kind"] in ("ratio", "number") else value
