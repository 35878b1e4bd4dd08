"""Rows of a platform export → the ingestion API's orders.

Rows are grouped by order number (JD and Douyin export one row per item); each group becomes
one order ``{"source": <platform>, "external_order_id", "status", "identities", times,
amounts in fen, items}``. A row that cannot be mapped is rejected with a reason code, and so
is the rest of its order (an order is never imported with a part missing):

``missing_order_id``, ``excel_mangled_id`` (``6.9E+18``), ``unknown_status``,
``deleted_order`` (JD ``(删除)…``), ``missing_time`` / ``bad_time``, ``missing_amount`` /
``bad_amount``, ``order_rejected`` (another row of the order was rejected).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from yutang.connectors.platform_orders.formats import (
    CLOSED,
    COMPLETED,
    CREATED,
    PAID,
    REFUNDED,
    REFUNDED_WORDS,
    PlatformFormat,
    Role,
    header_index,
    normalize_word,
)
from yutang.kit.clock import SHANGHAI, ensure_utc
from yutang.kit.crypto import is_mainland_mobile, normalize_phone
from yutang.kit.money import parse_yuan
from yutang.pool.models import IdentityKind, OrderStatus

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y/%m/%d")
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?")
_MASK_MARKS = ("*", "#", "$")
STAGE = {CREATED: 0, PAID: 1, COMPLETED: 2}


class RowProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class MappedOrder:
    lines: list[int]
    payload: dict[str, Any]
    status_words: list[str]


@dataclass
class Mapping:
    orders: list[MappedOrder] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, code, message)."""
    masked_phones: int = 0
    """Phone cells left out because they were masked or encrypted (never identities)."""


def parse_amount(text: str, column: str) -> int:
    """Yuan text (``28.90``, ``0元``, ``499.00（系统计算中…）``) → fen, exactly."""
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").strip()
    found = _AMOUNT.match(cleaned)
    if not found:
        raise RowProblem("bad_amount", f"{column}: not an amount: {text!r}")
    try:
        value = Decimal(found.group(0))
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only numbers
        raise RowProblem("bad_amount", f"{column}: not an amount: {text!r}") from error
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise RowProblem("bad_amount", f"{column}: more than two decimals: {text!r}")
    if value < 0:
        raise RowProblem("bad_amount", f"{column}: negative amount: {text!r}")
    return parse_yuan(found.group(0))


def parse_time(text: str, column: str) -> datetime:
    """Local (Asia/Shanghai) time text → an aware UTC datetime."""
    for pattern in TIME_FORMATS:
        try:
            local = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return ensure_utc(local.replace(tzinfo=SHANGHAI))
    raise RowProblem("bad_time", f"{column}: not a date and time: {text!r}")


def usable_phone(text: str) -> str | None:
    """A phone that may become an identity: never a masked or encrypted one."""
    if not text or any(mark in text for mark in _MASK_MARKS) or "密文" in text:
        return None
    return normalize_phone(text) if is_mainland_mobile(text) else None


@dataclass
class _Row:
    line: int
    order_id: str
    status: OrderStatus
    word: str
    ordered_at: datetime
    paid_at: datetime | None
    completed_at: datetime | None
    paid_fen: int
    goods_fen: int | None
    shipping_fen: int
    refund_fen: int
    identities: dict[str, str]
    item: dict[str, Any] | None


class _Reader:
    def __init__(self, fmt: PlatformFormat, headers: list[str]) -> None:
        self.fmt = fmt
        self.headers = headers
        self.columns = header_index(headers, fmt)
        self.masked_phones = 0

    def cell(self, cells: Sequence[str], role: Role) -> str:
        index = self.columns.get(role)
        return cells[index] if index is not None and index < len(cells) else ""

    def name(self, role: Role) -> str:
        index = self.columns.get(role)
        return self.headers[index] if index is not None else role.value

    def amount(self, cells: Sequence[str], role: Role, *, required: bool = False) -> int | None:
        text = self.cell(cells, role)
        if not text:
            if required:
                raise RowProblem("missing_amount", f"{self.name(role)} is empty")
            return None
        return parse_amount(text, self.name(role))

    def time(self, cells: Sequence[str], role: Role, *, required: bool = False
             ) -> datetime | None:
        text = self.cell(cells, role)
        if not text:
            if required:
                raise RowProblem("missing_time", f"{self.name(role)} is empty")
            return None
        return parse_time(text, self.name(role))

    def status(self, cells: Sequence[str], refund_fen: int) -> tuple[OrderStatus, str]:
        word = self.cell(cells, Role.STATUS)
        if self.fmt.deleted_prefix and word.startswith(self.fmt.deleted_prefix):
            raise RowProblem("deleted_order", f"deleted order: {word!r}")
        status = self.fmt.statuses.get(normalize_word(word))
        if status is None:
            raise RowProblem("unknown_status", f"unknown order status {word!r}")
        refund_word = normalize_word(self.cell(cells, Role.REFUND_STATUS))
        refunded = refund_word in REFUNDED_WORDS or (
            self.fmt.closed_with_refund_is_refunded and status is CLOSED and refund_fen > 0)
        return (REFUNDED if refunded and status is not CREATED else status), word

    def row(self, line: int, cells: Sequence[str]) -> _Row:
        order_id = self.cell(cells, Role.ORDER_ID)
        if not order_id:
            raise RowProblem("missing_order_id", f"{self.name(Role.ORDER_ID)} is empty")
        if re.search(r"\d[.,]?\d*E\+\d+$", order_id, re.IGNORECASE) or len(order_id) > 64:
            raise RowProblem("excel_mangled_id",
                             f"order number {order_id!r} was rewritten (re-export the file "
                             "from the platform, do not re-save it in Excel)")
        refund_fen = self.amount(cells, Role.REFUND_AMOUNT) or 0
        status, word = self.status(cells, refund_fen)
        ordered_at = self.time(cells, Role.ORDERED_AT, required=True)
        assert ordered_at is not None
        return _Row(
            line=line, order_id=order_id, status=status, word=word, ordered_at=ordered_at,
            paid_at=self.time(cells, Role.PAID_AT),
            completed_at=self.time(cells, Role.COMPLETED_AT),
            paid_fen=self.amount(cells, Role.PAID_AMOUNT, required=True) or 0,
            goods_fen=self.amount(cells, Role.GOODS_AMOUNT),
            shipping_fen=self.amount(cells, Role.SHIPPING_AMOUNT) or 0,
            refund_fen=refund_fen, identities=self.identities(cells), item=self.item(cells))

    def identities(self, cells: Sequence[str]) -> dict[str, str]:
        identities: dict[str, str] = {}
        buyer = self.cell(cells, Role.BUYER_ID)
        if buyer and self.fmt.buyer_kind is not None and not any(
                mark in buyer for mark in _MASK_MARKS):
            identities[self.fmt.buyer_kind.value] = buyer
        raw_phone = self.cell(cells, Role.PHONE)
        phone = usable_phone(raw_phone)
        if phone:
            identities[IdentityKind.PHONE.value] = phone
        elif raw_phone:
            self.masked_phones += 1
        return identities

    def item(self, cells: Sequence[str]) -> dict[str, Any] | None:
        sku = self.cell(cells, Role.SKU)
        quantity_text = self.cell(cells, Role.QUANTITY)
        if not sku or not quantity_text.isdigit() or int(quantity_text) < 1:
            return None
        quantity = int(quantity_text)
        line_fen = self.amount(cells, Role.LINE_AMOUNT)
        unit_fen = self.amount(cells, Role.UNIT_PRICE)
        if line_fen is None and unit_fen is None:
            return None
        if line_fen is None:
            assert unit_fen is not None
            line_fen = unit_fen * quantity
        return {"sku": sku[:64], "quantity": quantity,
                "unit_price_fen": unit_fen if unit_fen is not None else line_fen // quantity,
                "amount_fen": line_fen}


def _combined_status(rows: Sequence[_Row]) -> OrderStatus:
    """One order's status from its rows: the least advanced live one; refunded or closed
    only when every row is (refunded if any was)."""
    live = [row.status for row in rows if row.status in STAGE]
    if live:
        return min(live, key=lambda status: STAGE[status])
    return REFUNDED if any(row.status is REFUNDED for row in rows) else CLOSED


def _order(fmt: PlatformFormat, rows: Sequence[_Row]) -> dict[str, Any]:
    first = rows[0]
    status = _combined_status(rows)
    items = [row.item for row in rows if row.item is not None]
    if len(items) != len(rows):
        items = []  # an order is described whole or not at all
    paid = sum(row.paid_fen for row in rows) if fmt.paid_per_row else first.paid_fen
    shipping = first.shipping_fen
    total = (sum(int(item["amount_fen"]) for item in items) if items
             else first.goods_fen if first.goods_fen is not None else max(paid - shipping, 0))
    if status is CREATED and paid == 0:
        paid = total + shipping  # not paid yet: what the buyer is to pay (amounts never move)
    discount = max(0, min(total, total + shipping - paid))
    identities: dict[str, str] = {}
    for row in rows:
        identities.update(row.identities)
    payload: dict[str, Any] = {
        "source": fmt.source, "external_order_id": first.order_id, "status": status.value,
        "identities": identities, "ordered_at": min(row.ordered_at for row in rows),
        "total_fen": total, "discount_fen": discount, "paid_fen": paid, "items": items,
    }
    paid_times = [row.paid_at for row in rows if row.paid_at is not None]
    if paid_times and status is not CREATED:
        payload["paid_at"] = min(paid_times)
    done_times = [row.completed_at for row in rows if row.completed_at is not None]
    if done_times and status is COMPLETED:
        payload["completed_at"] = max(done_times)
    return payload


def map_rows(fmt: PlatformFormat, headers: list[str],
             rows: Sequence[tuple[int, list[str]]]) -> Mapping:
    """Map every row; rows of one order are grouped (in file order)."""
    reader = _Reader(fmt, headers)
    result = Mapping()
    groups: dict[str, list[_Row]] = {}
    failed: dict[str, list[int]] = {}
    for line, cells in rows:
        try:
            row = reader.row(line, cells)
        except RowProblem as problem:
            result.rejected.append((line, problem.code, problem.message))
            order_id = reader.cell(cells, Role.ORDER_ID)
            if order_id:
                failed.setdefault(order_id, []).append(line)
            continue
        groups.setdefault(row.order_id, []).append(row)
    for order_id, grouped in groups.items():
        if order_id in failed:
            result.rejected.extend(
                (row.line, "order_rejected",
                 f"another row of order {order_id} (line {failed[order_id][0]}) was rejected")
                for row in grouped)
            continue
        result.orders.append(MappedOrder(lines=[row.line for row in grouped],
                                         payload=_order(fmt, grouped),
                                         status_words=[row.word for row in grouped]))
    result.rejected.sort()
    result.masked_phones = reader.masked_phones
    return result
