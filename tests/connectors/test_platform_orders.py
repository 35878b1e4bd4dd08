"""Platform order exports (written in each platform's format in tests/data/platform_orders):
detected, decoded (GBK, UTF-8 with and without BOM, XLSX), mapped to the right states and
exact amounts in fen, imported through the order ingestion (idempotent; a later export moves
states forward), with masked phones never becoming identities and a reject file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import SYSTEM
from yutang.connectors.platform_orders import importing
from yutang.connectors.platform_orders.importing import MissingColumns, PlatformMismatch
from yutang.connectors.platform_orders.mapping import RowProblem, parse_amount, usable_phone
from yutang.kit.crypto import get_protector
from yutang.pool.models import Customer, Identity, Order, OrderItem
from yutang.pool.oneid import DEFAULT_POLICY

DATA = Path(__file__).parent.parent / "data" / "platform_orders"
TAOBAO = DATA / "taobao_ExportOrderList201711.csv"
TAOBAO_LATER = DATA / "taobao_ExportOrderList_later.xlsx"
JD = DATA / "jd_orders_2026.xlsx"
DOUYIN = DATA / "1763640000_douyin_orders.csv"
PINDUODUO = DATA / "pinduoduo_orders_export2026-11-21.csv"
YOUZAN = DATA / "youzan_orders.csv"


def _import(factory: sessionmaker[Session], path: Path,
            kind: str = importing.AUTO) -> importing.PlatformImport:
    read = importing.read_export(path.read_bytes(), path.name, kind)
    return importing.import_export(factory, actor=SYSTEM, read=read, policy=DEFAULT_POLICY)


def _orders(db: Session, source: str) -> dict[str, tuple[str, int, int, int]]:
    db.expire_all()
    return {row.external_order_id: (row.status, row.total_fen, row.discount_fen, row.paid_fen)
            for row in db.scalars(select(Order).where(Order.source == source))}


def _count(db: Session, model: type[Any]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_taobao_gbk_csv_then_a_later_xlsx_moves_states_forward(
    session_factory: sessionmaker[Session], db: Session, tmp_path: Path
) -> None:
    assert TAOBAO.read_bytes()[:4] != b"\xef\xbb\xbf"  # GBK, no BOM
    result = _import(session_factory, TAOBAO, "taobao")
    assert result.preview.encoding == "gb18030"
    assert (result.summary.rows, result.summary.accepted, result.summary.updated) == (9, 7, 0)
    assert [(line, code) for line, code, _ in result.summary.rejected] == [
        (9, "unknown_status"), (10, "bad_amount")]
    assert _orders(db, "taobao") == {
        "3312456789012345678": ("created", 12800, 0, 12800),
        "3312456789012345679": ("paid", 9990, 0, 10990),  # 99.90 goods + 10.00 post
        "3312456789012345680": ("paid", 5990, 1000, 4990),  # paid 49.90 of 59.90
        "3312456789012345681": ("completed", 25800, 0, 25800),
        "3312456789012345682": ("closed", 3500, 3500, 0),  # never paid (买家未付款)
        "3312456789012345683": ("refunded", 5990, 0, 5990),  # 交易关闭 with 退款金额 59.90
        "3312456789012345684": ("closed", 8800, 0, 8800),  # 交易被淘宝关闭
    }
    # the same customer behind two orders (buyer nick and phone), masked phone not an identity
    orders = {row.external_order_id: row for row in db.scalars(select(Order))}
    assert orders["3312456789012345678"].customer_id == \
        orders["3312456789012345681"].customer_id is not None
    phones = {row.value for row in db.scalars(select(Identity).where(Identity.kind == "phone"))}
    assert phones == {"13912345678", "13812349876", "15900001111"}
    assert not any("*" in value for value in phones)
    nicks = {row.value for row in db.scalars(select(Identity).where(Identity.kind == "taobao_id"))}
    assert "tb_orange_li" in nicks and len(nicks) == 6  # one buyer, two orders

    rejects = tmp_path / "rejects.csv"
    importing.write_rejects(result, rejects)
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0][:4] == ["line", "code", "message", "订单编号"]
    assert [(row[0], row[1], row[3], row[13]) for row in lines[1:]] == [
        ("9", "unknown_status", "3312456789012345685", "等待发货审核"),
        ("10", "bad_amount", "3312456789012345686", "交易成功")]

    again = _import(session_factory, TAOBAO)
    assert (again.summary.accepted, again.summary.updated, again.summary.unchanged) == (0, 0, 7)
    later = _import(session_factory, TAOBAO_LATER)
    assert later.preview.encoding == "xlsx"
    assert (later.summary.accepted, later.summary.updated, later.summary.rejected) == (0, 3, [])
    moved = _orders(db, "taobao")
    assert moved["3312456789012345678"] == ("completed", 12800, 0, 12800)
    assert moved["3312456789012345679"] == ("completed", 9990, 0, 10990)
    assert moved["3312456789012345680"] == ("refunded", 5990, 1000, 4990)
    assert orders["3312456789012345679"].completed_at is not None
    assert _count(db, Order) == 7


def test_jd_xlsx_groups_item_rows_and_rejects_deleted_orders(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    result = _import(session_factory, JD)
    assert result.preview.platform == "jd"
    assert [(line, code) for line, code, _ in result.summary.rejected] == [(6, "deleted_order")]
    assert _orders(db, "jd") == {
        "290123456701": ("paid", 10980, 1000, 9980),
        "290123456702": ("completed", 13980, 0, 13980),
        "290123456703": ("closed", 3990, 0, 4590),  # 6.00 freight
        "290123456705": ("created", 6990, 0, 6990),
    }
    order = db.scalars(select(Order).where(Order.external_order_id == "290123456701")).one()
    items = sorted((row.sku, row.quantity, row.unit_price_fen, row.amount_fen)
                   for row in db.scalars(select(OrderItem).where(OrderItem.order_id == order.id)))
    assert items == [("100012345678", 1, 6990, 6990), ("100087654321", 1, 3990, 3990)]
    kinds = {(row.kind, row.value) for row in db.scalars(select(Identity))}
    assert ("jd_id", "jd_apple_lover") in kinds and ("phone", "13700001234") in kinds
    assert not any("*" in value for _, value in kinds)  # 1******6198 stayed out


def test_douyin_utf8_bom_csv_with_tabs_dashes_and_encrypted_phones(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    assert DOUYIN.read_bytes()[:3] == b"\xef\xbb\xbf"
    result = _import(session_factory, DOUYIN, "douyin")
    assert (result.preview.encoding, result.preview.masked_phones) == ("utf-8-bom", 3)
    assert [(line, code) for line, code, _ in result.summary.rejected] == [(8, "unknown_status")]
    assert _orders(db, "douyin") == {
        "6917551234567890101": ("paid", 10860, 0, 10860),  # one sub-order shipped, one done
        "6917551234567890201": ("refunded", 6880, 0, 6880),  # 已完成 + 售后 退款成功
        "6917551234567890301": ("refunded", 1990, 0, 1990),  # 已关闭 + 退款成功
        "6917551234567890401": ("closed", 1990, 0, 1990),
        "6917551234567890501": ("created", 6880, 0, 6880),
    }
    assert {row.value for row in db.scalars(select(Identity))} == {"13600001111"}
    assert _count(db, Customer) == 1  # encrypted phones are anonymous orders, not customers


def test_pinduoduo_gbk_with_a_note_above_the_header_and_youzan(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    result = _import(session_factory, PINDUODUO)
    assert (result.preview.platform, result.preview.encoding, result.preview.header_line) == (
        "pinduoduo", "gb18030", 2)
    assert result.summary.rejected == []
    assert _orders(db, "pinduoduo") == {
        "261118-400000294410901": ("paid", 3560, 0, 3560),
        "261110-400000294410902": ("completed", 1780, 0, 1780),
        "261117-400000294410903": ("paid", 16899, 0, 16899),
        "261111-400000294410904": ("refunded", 1780, 0, 1780),
        "261112-400000294410905": ("closed", 1780, 0, 1780),
    }
    youzan = _import(session_factory, YOUZAN, "youzan")
    assert (youzan.preview.encoding, youzan.summary.rejected) == ("utf-8", [])
    assert _orders(db, "youzan") == {
        "E20261115120000012345678": ("completed", 53910, 0, 53910),
        "E20261120080000012345679": ("paid", 4500, 0, 5300),
        "E20261116090000012345680": ("refunded", 4500, 0, 4500),
    }


def test_preview_maps_without_writing_and_names_the_columns(db: Session) -> None:
    read = importing.read_export(JD.read_bytes(), JD.name)
    shown = importing.preview(read, limit=2)
    assert (shown.platform, shown.rows, shown.orders) == ("jd", 6, 4)
    assert shown.columns["paid_amount"] == "应付金额" and shown.columns["buyer_id"] == "下单帐号"
    first = shown.sample[0]
    assert (first.lines, first.status_words, first.status, first.paid, first.items) == (
        [2, 3], ["等待出库", "等待出库"], "paid", "¥99.80", 2)
    assert first.identities == ["jd_id jd***"]  # the preview shows no personal data in clear
    assert len(shown.sample) == 2
    assert _count(db, Order) == 0


def test_a_file_of_another_platform_or_without_the_columns_is_refused() -> None:
    with pytest.raises(PlatformMismatch):
        importing.read_export(JD.read_bytes(), JD.name, "taobao")
    header = "订单编号,订单状态,订单创建时间,买家会员名\n".encode()
    with pytest.raises(MissingColumns) as refused:
        importing.read_export(header + "1,交易成功,2026-11-01 10:00:00,x\n".encode(), "t.csv")
    assert refused.value.details["missing"] == ["paid_amount"]


@pytest.mark.parametrize(("text", "fen"), [
    ("28.90", 2890), ("0元", 0), ("17.8", 1780), ("1,234.50", 123450),
    ("499.00（系统计算中，该值仅供参考）", 49900), ("¥0.01", 1),
])
def test_amounts_are_exact_fen(text: str, fen: int) -> None:
    assert parse_amount(text, "x") == fen


@pytest.mark.parametrize("text", ["12.345", "abc", "-5.00"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(RowProblem):
        parse_amount(text, "x")


@pytest.mark.parametrize(("text", "phone"), [
    ("13912345678", "13912345678"), ("86-13912345678", "13912345678"),
    ("138****0000", None), ("1******6198", None), ("##A1b2C3", None), ("$$Zq8", None),
    ("", None),
])
def test_only_whole_phones_become_identities(text: str, phone: str | None) -> None:
    assert usable_phone(text) == phone
    assert get_protector() is not None
