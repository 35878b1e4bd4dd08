"""Reading a platform export: CSV (UTF-8 with or without BOM, or GBK/GB18030) or XLSX; the
header row found among the first lines (Pinduoduo puts notes above it); cells cleaned of the
wrappers platforms and Excel add (``="…"``, a leading ``'``, tabs, BOM, NBSP, ``-`` for none).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from yutang.connectors.platform_orders.formats import known_header_count
from yutang.pool.import_files import ENCODINGS, UnreadableFile

HEADER_SCAN_LINES = 15
EMPTY_WORDS = frozenset({"-", "–", "—", "--", "null", "NULL"})
_EXCEL_GUARD = re.compile(r'^="(.*)"$')


@dataclass(frozen=True)
class Table:
    encoding: str
    """``utf-8-bom``, ``utf-8``, ``gb18030`` (GBK) or ``xlsx``."""
    header_line: int
    headers: list[str]
    rows: list[tuple[int, list[str]]]
    """(line or sheet row number, cleaned cells)."""


def clean_cell(value: object) -> str:
    """The cell's text without the wrappers exports add; empty for ``-`` and friends."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\ufeff", "").replace("\xa0", " ").replace("\t", "").strip()
    guarded = _EXCEL_GUARD.match(text)
    if guarded:
        text = guarded.group(1).strip()
    if text.startswith("'"):
        text = text[1:].strip()
    return "" if text in EMPTY_WORDS else text


def clean_header(value: object) -> str:
    return clean_cell(value).replace(" ", "")


def decode(raw: bytes, name: str) -> tuple[str, str]:
    """The text and the encoding it was in: UTF-8 (BOM noted), else GB18030 (GBK's superset)."""
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig":
            return text, "utf-8-bom" if raw.startswith(codecs.BOM_UTF8) else "utf-8"
        return text, encoding
    raise UnreadableFile(f"{name} is neither UTF-8 nor GBK text")


def _find_header(rows: list[tuple[int, list[str]]], name: str) -> int:
    """Index (in ``rows``) of the line with the most known headers among the first ones."""
    best, best_count = -1, 0
    for position, (_, cells) in enumerate(rows[:HEADER_SCAN_LINES]):
        count = known_header_count([clean_header(cell) for cell in cells])
        if count > best_count:
            best, best_count = position, count
    if best < 0 or best_count < 3:
        raise UnreadableFile(f"{name}: no order-export header in the first "
                             f"{HEADER_SCAN_LINES} lines")
    return best


def _table(rows: list[tuple[int, list[str]]], encoding: str, name: str) -> Table:
    start = _find_header(rows, name)
    header_line, raw_headers = rows[start]
    headers = [clean_header(cell) for cell in raw_headers]
    body = [(line, [clean_cell(cell) for cell in cells]) for line, cells in rows[start + 1:]
            if any(clean_cell(cell) for cell in cells)]
    return Table(encoding=encoding, header_line=header_line, headers=headers, rows=body)


def _csv(raw: bytes, name: str) -> Table:
    text, encoding = decode(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    for cells in reader:
        rows.append((start, cells))
        start = reader.line_num + 1
    return _table(rows, encoding, name)


def _xlsx(raw: bytes, name: str) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise UnreadableFile(f"{name} is not a readable XLSX workbook") from error
    try:
        sheet = workbook.worksheets[0]
        rows = [(number, [clean_cell(cell) for cell in row]) for number, row in
                enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()
    return _table(rows, "xlsx", name)


def read_table(raw: bytes, name: str) -> Table:
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _csv(raw, name)
    if suffix == ".xlsx":
        return _xlsx(raw, name)
    raise UnreadableFile(f"{name}: platform order exports are .csv or .xlsx files")
