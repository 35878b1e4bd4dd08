"""``yutang official-account configure``, ``yutang webhooks add-source`` and the platform
kinds of ``yutang import`` (with ``--preview``) against a real SQLite file."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.connectors.official_account_support import AES_KEY, SECRET, TOKEN
from yutang.cli import app
from yutang.config import get_settings

runner = CliRunner()
DATA = Path(__file__).parent.parent / "data" / "platform_orders"


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("YUTANG_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("YUTANG_DATA_KEY", base64.urlsafe_b64encode(b"c" * 32).decode())
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _dump(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return "\n".join(connection.iterdump())


def test_official_account_and_webhook_secrets_are_stored_encrypted(cli_db: Path) -> None:
    done = runner.invoke(app, ["official-account", "configure", "--app-id", "wxcli0001",
                               "--token", TOKEN, "--aes-key", AES_KEY, "--secret", SECRET])
    assert done.exit_code == 0, done.output
    assert "wxcli0001" in done.output and "safe mode" in done.output
    added = runner.invoke(app, ["webhooks", "add-source", "miniprogram"])
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    dump = _dump(cli_db)
    for clear in (TOKEN, AES_KEY, SECRET, secret):
        assert clear not in dump
    listed = runner.invoke(app, ["webhooks", "list"])
    assert listed.output.split() == ["miniprogram", "whs****", "active"]
    again = runner.invoke(app, ["webhooks", "add-source", "miniprogram"])
    assert again.exit_code == 2 and "webhook_source_exists" in again.output


def test_import_previews_then_imports_a_platform_export(cli_db: Path, tmp_path: Path) -> None:
    source = DATA / "jd_orders_2026.xlsx"
    shown = runner.invoke(app, ["import", "platform", str(source), "--preview"])
    assert shown.exit_code == 0, shown.output
    assert "京东 (jd), xlsx" in shown.output and "6 rows → 4 orders" in shown.output
    assert "290123456701  等待出库/等待出库 → paid  paid ¥99.80" in shown.output
    assert "deleted_order" in shown.output
    assert 'INSERT INTO "customer_order"' not in _dump(cli_db)  # a preview imports nothing
    rejects = tmp_path / "jd.rejects.csv"
    done = runner.invoke(app, ["import", "jd", str(source), "--rejects", str(rejects)])
    assert done.exit_code == 1  # a row was rejected
    assert "4 new orders" in done.output
    assert rejects.read_text(encoding="utf-8-sig").splitlines()[1].startswith(
        "6,deleted_order,")
    again = runner.invoke(app, ["import", "jd", str(source), "--rejects", str(rejects)])
    assert "0 new orders, 0 moved on, 4 unchanged" in again.output
    wrong = runner.invoke(app, ["import", "taobao", str(source)])
    assert wrong.exit_code == 2 and "platform_mismatch" in wrong.output
