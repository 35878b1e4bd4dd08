"""Reading import files: CSV (UTF-8, UTF-8 with BOM or GBK), XLSX and JSONL, row by row with
the line number each row came from (for the reject file)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yutang.kit.errors import InvalidInput

ENCODINGS = ("utf-8-sig", "gb18030")
"""UTF-8 (with or without BOM), then GB18030, the superset of GBK that Excel in China saves."""


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


@dataclass(frozen=True)
class SourceRow:
    line: int
    data: dict[str, Any] | None
    """None when the line itself could not be read (broken JSON): rejected with ``error``."""
    error: str = ""


def read_rows(path: Path) -> list[SourceRow]:
    if not path.is_file():
        raise UnreadableFile(f"no file at {path}", path=str(path))
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return list(_jsonl_rows(_decode(path)))
    if suffix == ".csv":
        return list(_csv_rows(_decode(path)))
    if suffix == ".xlsx":
        return list(_xlsx_rows(path))
    raise UnreadableFile(f"{path.name}: import .csv, .xlsx or .jsonl files", path=str(path))


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(f"{path.name} is neither UTF-8 nor GBK text", path=str(path))


def _jsonl_rows(text: str) -> Iterator[SourceRow]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            yield SourceRow(number, None, f"not JSON: {error.msg}")
            continue
        if not isinstance(data, dict):
            yield SourceRow(number, None, "each line must be a JSON object")
            continue
        yield SourceRow(number, data)


def _csv_rows(text: str) -> Iterator[SourceRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for row in reader:
        if header is None:
            header = [name.strip() for name in row]
            if not any(header):
                raise UnreadableFile("the first line must name the columns")
            continue
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        if len(row) > len(header):
            yield SourceRow(line, None, f"{len(row)} cells for {len(header)} columns")
            continue
        yield SourceRow(line, {name: value.strip() for name, value in zip(header, row,
                                                                         strict=False)
                               if name and value.strip()})


def _xlsx_rows(path: Path) -> Iterator[SourceRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise UnreadableFile(f"{path.name} is not a readable XLSX workbook") from error
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
        for number, row in enumerate(rows, start=2):
            cells = {name: _cell_text(value) for name, value in zip(header, row, strict=False)
                     if name and value not in (None, "")}
            if cells:
                yield SourceRow(number, cells)
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
