"""``yutang demo``: generates the demo merchant, prints the login, and the app serves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import TEST_DATA_KEY
from tests.support.factories import SYSTEM
from yutang.access import service as access_service
from yutang.access.roles import Role
from yutang.cli import app
from yutang.config import Settings, get_settings
from yutang.demo.generator import DEMO_PASSWORD
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.pool.models import Customer

runner = CliRunner()


@pytest.fixture
def demo_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # The conftest's key, so that the protector the CLI configures stays the tests' one.
    monkeypatch.setenv("YUTANG_DATA_KEY", TEST_DATA_KEY)
    get_settings.cache_clear()
    yield f"sqlite:///{tmp_path / 'demo.db'}"
    get_settings.cache_clear()


def _demo(url: str, *options: str) -> str:
    result = runner.invoke(app, ["demo", "--customers", "2000", "--no-serve", "--db", url,
                                 *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_generates_prints_the_login_and_the_app_serves_the_customers(
    demo_url: str, tmp_path: Path
) -> None:
    output = _demo(demo_url)
    assert "demo merchant ready" in output
    assert "2,000 customers" in output
    assert f"login: admin / {DEMO_PASSWORD}" in output

    engine = create_engine(demo_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            key = access_service.create_api_key(
                session, actor=SYSTEM, name="demo check", role=Role.OWNER
            ).key
            customer_rows = session.scalar(select(func.count()).select_from(Customer))
    finally:
        engine.dispose()
    from yutang.main import create_app  # the web layer is imported only where it is tested

    settings = Settings(database_url=demo_url, data_key=TEST_DATA_KEY,
                        data_key_file=tmp_path / "unused.key")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        headers = {"Authorization": f"Bearer {key}"}
        listing = client.get("/api/v1/customers", headers=headers)
        assert listing.status_code == 200, listing.text
        assert listing.json()["total"] == 2000
        # The demo refreshed the analytics of its own database: the pages answer at once.
        status = client.get("/api/v1/analytics/status", headers=headers).json()
        assert status["extracted"] is True
        assert status["rows"]["customers"] == customer_rows  # merged ones included
        mix = client.get("/api/v1/analytics/layer-mix", headers=headers,
                         params={"as_of": "2026-11-01"})
        assert mix.status_code == 200, mix.text
    assert "analytics refreshed" in output
    assert settings.analytics_directory() == tmp_path / "demo-analytics"
    assert (tmp_path / "demo-analytics").is_dir()


def test_demo_on_a_generated_database_reuses_it_and_prints_the_stored_login(
    demo_url: str, tmp_path: Path,
) -> None:
    first = _demo(demo_url, "--no-analytics")
    assert "demo merchant ready" in first
    assert "analytics refreshed" not in first
    assert not (tmp_path / "demo-analytics").exists()
    again = _demo(demo_url)
    assert "already holds 2,000 customers" in again
    assert "demo merchant ready" not in again
    assert f"login: admin / {DEMO_PASSWORD}" in again
