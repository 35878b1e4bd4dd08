"""``yutang import`` (CSV in UTF-8/BOM/GBK, XLSX, JSONL) and ``yutang customers export``."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from yutang.access.models import AuditEntry
from yutang.cli import app
from yutang.config import get_settings
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine, make_session_factory
from yutang.pool.models import Customer, Event, Identity, Order

runner = CliRunner()
KEY = base64.urlsafe_b64encode(b"i" * 32).decode()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("YUTANG_DATABASE_URL", url)
    monkeypatch.setenv("YUTANG_DATA_KEY", KEY)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    configure_protector(DataProtector.from_master_key(bytes(range(32))))


def _count(url: str, model: type) -> int:
    engine = create_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def _rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))[1:]


def test_customers_csv_with_bom_and_broken_rows(cli_db: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["store", "create", "--code", "SH01", "--name", "静安店",
                               "--city", "上海"]).exit_code == 0
    source = tmp_path / "customers.csv"
    source.write_text(
        "name,phone,wechat_unionid,gender,store,consent_wecom\n"
        "张伟,13812345678,U-1,male,SH01,是\n"
        "李娜,13987654321,,female,SH01,否\n"
        "王芳,13700001111,U-3,robot,SH01,\n"          # line 4: bad gender
        "赵敏,,,female,SH01,\n"                        # line 5: no identifier
        "钱多,13600002222,U-5,female,NOPE,\n",         # line 6: unknown store
        encoding="utf-8-sig",
    )
    first = runner.invoke(app, ["import", "customers", str(source)])
    assert first.exit_code == 1, first.output
    assert "5 rows" in first.output and "2 new" in first.output
    rejected = _rejects(tmp_path / "customers.csv.rejects.csv")
    assert [(line, code) for line, code, _ in rejected] == [
        ("4", "invalid_profile"), ("5", "invalid_profile"), ("6", "store_not_found")]
    assert _count(cli_db, Customer) == 2
    audits = _count(cli_db, AuditEntry)
    again = runner.invoke(app, ["import", "customers", str(source)])
    assert "0 new" in again.output and "2 unchanged" in again.output
    assert _count(cli_db, Customer) == 2
    assert _count(cli_db, AuditEntry) == audits  # nothing changed, nothing written


def test_events_in_gbk_and_orders_in_xlsx(cli_db: str, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_bytes(
        ("event_id,type,occurred_at,wechat_unionid,page\n"
         "e1,view,2026-10-01 12:00:00,U-1,首页\n"
         "e2,add_to_cart,2026-10-01 12:05,U-1,商品\n"
         "e3,view,昨天,U-2,首页\n").encode("gbk")
    )
    result = runner.invoke(app, ["import", "events", str(events)])
    assert result.exit_code == 1
    assert [(line, code) for line, code, _ in _rejects(tmp_path / "events.csv.rejects.csv")] \
        == [("4", "invalid_event")]
    engine = create_engine(cli_db)
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(Event).order_by(Event.event_id)).all()
        assert [(event.event_id, event.properties) for event in stored] == [
            ("e1", {"page": "首页"}), ("e2", {"page": "商品"})]
        assert stored[0].occurred_at.isoformat() == "2026-10-01T04:00:00+00:00"
    engine.dispose()

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["source", "external_order_id", "status", "ordered_at", "total_fen",
                  "wechat_unionid", "items"])
    sheet.append(["pos", "A1", "completed", "2026-10-02 10:00:00", 5990, "U-1",
                  json.dumps([{"sku": "APPLE", "quantity": 1, "unit_price_fen": 5990}])])
    sheet.append(["pos", "A2", "paid", "2026-10-02 11:00:00", "12x", "U-1", None])
    orders = tmp_path / "orders.xlsx"
    workbook.save(orders)
    result = runner.invoke(app, ["import", "orders", str(orders)])
    assert result.exit_code == 1
    assert [(line, code) for line, code, _ in
            _rejects(tmp_path / "orders.xlsx.rejects.csv")] == [("3", "invalid_order")]
    assert _count(cli_db, Order) == 1
    assert runner.invoke(app, ["import", "orders", str(orders)]).exit_code == 1
    assert _count(cli_db, Order) == 1


def test_identities_jsonl_link_people_and_bad_files_are_refused(cli_db: str,
                                                               tmp_path: Path) -> None:
    links = tmp_path / "links.jsonl"
    links.write_text(
        json.dumps({"identities": {"wechat_unionid": "U-1", "phone": "13812345678"}}) + "\n"
        + json.dumps({"identities": {"phone": "13812345678", "taobao_id": "tb-1"}}) + "\n"
        + "{broken\n"
        + json.dumps({"identities": {"fax": "1"}}) + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "identities", str(links)])
    assert result.exit_code == 1
    assert [(line, code) for line, code, _ in
            _rejects(tmp_path / "links.jsonl.rejects.csv")] == [
        ("3", "unreadable_row"), ("4", "unknown_identity_kind")]
    assert _count(cli_db, Customer) == 1 and _count(cli_db, Identity) == 3
    again = runner.invoke(app, ["import", "identities", str(links)])
    assert "2 unchanged" in again.output
    assert _count(cli_db, Customer) == 1 and _count(cli_db, Identity) == 3

    binary = tmp_path / "garbage.csv"
    binary.write_bytes(b"\xff\xfe\x00\xd8\x00\xdc\x81\x30\xff")
    refused = runner.invoke(app, ["import", "customers", str(binary)])
    assert refused.exit_code == 2 and "unreadable_file" in refused.output
    wrong_kind = runner.invoke(app, ["import", "people", str(links)])
    assert wrong_kind.exit_code == 2 and "unknown_import_kind" in wrong_kind.output


def test_export_is_masked_unless_revealed_and_both_are_audited(cli_db: str,
                                                             tmp_path: Path) -> None:
    source = tmp_path / "customers.jsonl"
    source.write_text(json.dumps({"identities": {"phone": "13812345678"},
                                  "profile": {"name": "张伟"}}) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["import", "customers", str(source)]).exit_code == 0
    masked = tmp_path / "masked.jsonl"
    assert runner.invoke(app, ["customers", "export", "--out", str(masked)]).exit_code == 0
    (line,) = [json.loads(text) for text in masked.read_text(encoding="utf-8").splitlines()]
    assert line["profile"]["phone"] == "138****5678" and line["profile"]["name"] == "张*"
    assert line["identities"] == [{"kind": "phone", "scope": "", "value": "138****5678"}]
    revealed = tmp_path / "revealed.jsonl"
    result = runner.invoke(app, ["customers", "export", "--out", str(revealed), "--reveal",
                                 "--reason", "迁移到新系统"])
    assert result.exit_code == 0
    assert "13812345678" in revealed.read_text(encoding="utf-8")
    engine = create_engine(cli_db)
    with make_session_factory(engine)() as session:
        exports = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "customer.export").order_by(AuditEntry.id)).all()
        assert [(entry.reason, entry.details["masked"]) for entry in exports] == [
            ("cli export", True), ("迁移到新系统", False)]
    engine.dispose()
