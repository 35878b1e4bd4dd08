"""``yutang wecom configure`` keeps the secrets encrypted; the demo scenario ``yutang
wecom-sim`` plays brings customers in through channel codes."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.connectors.conftest import AES_KEY
from tests.support.factories import make_api_key, make_store, make_user
from yutang.access.roles import Role
from yutang.cli import app
from yutang.config import get_settings
from yutang.connectors.wecom import service
from yutang.connectors.wecom.models import WeComContact, WeComCorp
from yutang.connectors.wecom.simulator import WeComSimulator
from yutang.connectors.wecom.simulator_runner import play_demo_scenario
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.pool.models import Customer

runner = CliRunner()
SECRET = "S3cr3t-app-secret-7f9c2b"
TOKEN = "cbTokenQ7xZ"


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("YUTANG_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("YUTANG_DATA_KEY", base64.urlsafe_b64encode(b"w" * 32).decode())
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _configure(*extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["wecom", "configure", "--corp-id", "wwcli0001", "--token",
                                 TOKEN, "--aes-key", AES_KEY, "--secret", SECRET, *extra])
    return result.exit_code, result.output


def test_configure_stores_the_secrets_encrypted(cli_db: Path) -> None:
    code, output = _configure()
    assert code == 0, output
    assert "wwcli0001" in output and SECRET not in output
    raw = b"".join(path.read_bytes() for path in cli_db.parent.glob("cli.db*"))
    with sqlite3.connect(cli_db) as connection:
        dump = "\n".join(connection.iterdump())
    for secret in (SECRET, TOKEN, AES_KEY):
        assert secret not in dump and secret.encode() not in raw
    engine = create_engine(f"sqlite:///{cli_db}")
    with unit_of_work(make_session_factory(engine)) as session:
        keys = service.corp_keys(session)
        assert (keys.corp_id, keys.secret, keys.token, keys.encoding_aes_key) == (
            "wwcli0001", SECRET, TOKEN, AES_KEY)
        assert SECRET not in repr(keys)
        shown = service.present_corp(session.scalars(select(WeComCorp)).one())
        assert shown.secret == "S3c****" and shown.token == "cbT****"
    engine.dispose()

    # configuring again replaces the settings (one row); a bad key changes nothing
    assert _configure("--welcome-text", "欢迎光临")[0] == 0
    bad = runner.invoke(app, ["wecom", "configure", "--corp-id", "wwcli0001", "--token",
                              TOKEN, "--aes-key", "short", "--secret", "other-secret"])
    assert bad.exit_code == 2 and "invalid_wecom_config" in bad.output
    engine = create_engine(f"sqlite:///{cli_db}")
    with unit_of_work(make_session_factory(engine)) as session:
        assert session.scalar(select(func.count()).select_from(WeComCorp)) == 1
        keys = service.corp_keys(session)
        assert (keys.secret, keys.welcome_text) == (SECRET, "欢迎光临")
    engine.dispose()


def test_demo_scenario_brings_customers_in_through_the_codes(
    simulator: WeComSimulator, client: TestClient, db: Session
) -> None:
    store = make_store(db, "SH01")
    make_user(db, "wang", Role.STAFF, store)
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    client.post("/api/v1/channels", headers=headers, json={
        "code": "WECOM-SH", "name": "企微活码", "kind": "wecom", "domain": "private"})
    code = client.post("/api/v1/channel-codes", headers=headers, json={
        "channel_code": "WECOM-SH", "store_code": "SH01", "staff_username": "wang"}).json()
    lines: list[str] = []
    play_demo_scenario(simulator, staff=["wang"], states=[code["state"]], customers=6,
                       interval_seconds=0, seed=3, sleep=lambda _: None, report=lines.append)
    assert all(delivery.status_code == 200 for delivery in simulator.deliveries)
    db.expire_all()
    customers = db.scalars(select(Customer)).all()
    assert len(customers) == 6
    assert {(customer.acquisition_code_id, customer.store_id) for customer in customers} == {
        (code["id"], store.id)}
    assert db.scalar(select(func.count()).select_from(WeComContact)) == 6
    assert sum("added wang" in line for line in lines) == 6
