"""``yutang analytics refresh`` and ``yutang report``: layers written back, reviews against
the previous period in Excel and HTML, and a coded one-line error for every bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tests.analytics.pool_data import build_pool
from tests.conftest import TEST_DATA_KEY
from yutang.analytics.review_fission import COLUMNS
from yutang.cli import app
from yutang.config import get_settings
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade
from yutang.pool.models import Customer

runner = CliRunner()


@pytest.fixture
def pool_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    upgrade(url)
    engine = create_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        build_pool(session)
    engine.dispose()
    monkeypatch.setenv("YUTANG_DATABASE_URL", url)
    monkeypatch.setenv("YUTANG_DATA_KEY", TEST_DATA_KEY)
    monkeypatch.setenv("YUTANG_ANALYTICS_DIR", str(tmp_path / "extract"))
    monkeypatch.setenv("YUTANG_ANALYTICS_RFM_METHOD", "threshold")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_refresh_then_reviews(pool_database: Path) -> None:
    refreshed = runner.invoke(app, ["analytics", "refresh", "--as-of", "2026-11-01"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "7 changed" in refreshed.stdout
    again = runner.invoke(app, ["analytics", "refresh", "--as-of", "2026-11-01"])
    assert "0 rows extracted" in again.stdout and "0 changed" in again.stdout
    engine = create_engine(get_settings().database_url)
    with engine.connect() as connection:
        tiers = dict(connection.execute(
            select(Customer.id, Customer.lifecycle_stage).where(Customer.id <= 6)).all())
    engine.dispose()
    assert sorted(tiers.values()) == ["active", "at_risk", "lost", "new", "new", "won_back"]

    workbook_path = pool_database / "october.xlsx"
    monthly = runner.invoke(app, ["report", "monthly", "--date", "2026-10-15",
                                  "--out", str(workbook_path)])
    assert monthly.exit_code == 0, monthly.output
    summary = load_workbook(workbook_path)["summary"]
    rows = {row[1]: row[2:] for row in summary.iter_rows(min_row=3, values_only=True)}
    assert rows["gmv_fen"] == (350.0, 100.0, 2.5)  # yuan: October against September
    assert rows["new_customers"][:2] == (3, 1)  # c7, merged into c1, is no new customer
    assert rows["funnel_paid"][:2] == (2, 0)
    assert rows["cac_fen"][0] == pytest.approx((20_000 + 90_000) / 2 / 100)
    # The store fission leaderboard rides along (read from the operational tables): every
    # store, ranked, nothing planted here so nothing counted.
    kpis = list(load_workbook(workbook_path)["store_fission_kpis"].iter_rows(values_only=True))
    assert kpis[0] == COLUMNS
    assert sorted(row[1] for row in kpis[1:]) == ["S1", "S2"]
    assert all(row[3:11] == (0,) * 8 for row in kpis[1:])

    page = pool_database / "week.html"
    weekly = runner.invoke(app, ["report", "weekly", "--date", "2026-10-21", "--store", "S1",
                                 "--out", str(page)])
    assert weekly.exit_code == 0, weekly.output
    assert "2026-10-19 – 2026-10-25" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(("arguments", "code"), [
    (["report", "monthly", "--date", "2026-13-01", "--out", "r.xlsx"], "bad_report_date"),
    (["report", "yearly", "--date", "2026-10-01", "--out", "r.xlsx"], "bad_report_kind"),
    (["report", "daily", "--date", "2026-10-01", "--out", "r.pdf"], "bad_report_format"),
    (["report", "daily", "--date", "2026-10-01", "--store", "NOPE", "--out", "r.xlsx"],
     "report_store_not_found"),
    (["report", "daily", "--date", "2026-10-01", "--out", "r.xlsx"],
     "analytics_extract_missing"),
])
def test_bad_input_is_one_coded_line(pool_database: Path, arguments: list[str],
                                     code: str) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error {code}: "), result.stderr
    assert not (pool_database / "r.xlsx").exists()
