"""Preview and import of a platform export through the pool's order import.

``preview_export`` reads and maps without writing: the platform and encoding detected, the
columns used for each role (and those missing), the first orders as they would be imported,
the problems. ``import_export`` sends the mapped orders through ``pool.imports.import_rows``
(the same chunks, transactions and order ingestion as ``yutang import orders``: idempotent by
``(source, external_order_id)``, a re-import moves states forward) and adds the rows the
mapping rejected to its summary. ``write_rejects`` writes them with their original cells.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from yutang.access.roles import Principal
from yutang.connectors.platform_orders.formats import (
    FORMATS,
    REQUIRED_ROLES,
    Platform,
    PlatformFormat,
    detect,
    header_index,
)
from yutang.connectors.platform_orders.mapping import Mapping, map_rows
from yutang.connectors.platform_orders.reading import Table, read_table
from yutang.kit.crypto import mask_phone
from yutang.kit.money import format_yuan
from yutang.pool.import_files import SourceRow, UnreadableFile
from yutang.pool.imports import ImportKind, ImportSummary, import_rows
from yutang.pool.oneid import OneIdPolicy

PREVIEW_ORDERS = 10
AUTO = "platform"
"""The import kind that detects the platform from the headers."""
PLATFORM_KINDS = (AUTO, *(platform.value for platform in Platform))


class PlatformMismatch(UnreadableFile):
    code = "platform_mismatch"


class MissingColumns(UnreadableFile):
    code = "missing_columns"


@dataclass
class ReadExport:
    format: PlatformFormat
    table: Table
    mapping: Mapping
    columns: dict[str, str]
    """role → the header used for it."""
    missing: list[str]
    """Optional roles no column was found for."""


@dataclass(frozen=True)
class PreviewOrder:
    lines: list[int]
    external_order_id: str
    status_words: list[str]
    status: str
    paid: str
    total: str
    items: int
    identities: list[str]
    """Kinds with masked values (``phone 138****0000``)."""


@dataclass
class Preview:
    platform: str
    platform_name: str
    encoding: str
    header_line: int
    rows: int
    orders: int
    columns: dict[str, str]
    missing: list[str]
    sample: list[PreviewOrder]
    rejected: list[tuple[int, str, str]]
    masked_phones: int


@dataclass
class PlatformImport:
    preview: Preview
    summary: ImportSummary
    table: Table
    rejected_cells: dict[int, list[str]] = field(default_factory=dict)


def is_platform_kind(kind: str) -> bool:
    return kind in PLATFORM_KINDS


def read_export(raw: bytes, name: str, kind: str = AUTO) -> ReadExport:
    """Read and map a platform export; ``kind`` names the platform or asks to detect it."""
    table = read_table(raw, name)
    detected = detect(table.headers)
    if kind == AUTO:
        if detected is None:
            raise PlatformMismatch(f"{name}: not an order export of a platform we read",
                                   headers=table.headers[:20])
        fmt = detected
    else:
        fmt = FORMATS[Platform(kind)]
        if detected is not None and detected.platform is not fmt.platform:
            raise PlatformMismatch(f"{name} looks like a {detected.platform.value} export, "
                                   f"not {fmt.platform.value}", detected=detected.platform.value)
    found = header_index(table.headers, fmt)
    absent = [role for role in REQUIRED_ROLES if role not in found]
    if absent:
        raise MissingColumns(
            f"{name}: no column for " + ", ".join(
                f"{role.value} ({' / '.join(fmt.columns[role])})" for role in absent),
            missing=[role.value for role in absent])
    return ReadExport(
        format=fmt, table=table, mapping=map_rows(fmt, table.headers, table.rows),
        columns={role.value: table.headers[index] for role, index in found.items()},
        missing=[role.value for role in fmt.columns if role not in found])


def _masked(kind: str, value: str) -> str:
    shown = mask_phone(value) if kind == "phone" else (value[:2] + "***" if value else "")
    return f"{kind} {shown}"


def preview(read: ReadExport, limit: int = PREVIEW_ORDERS) -> Preview:
    sample = []
    for order in read.mapping.orders[:limit]:
        payload: dict[str, Any] = order.payload
        sample.append(PreviewOrder(
            lines=order.lines, external_order_id=payload["external_order_id"],
            status_words=order.status_words, status=payload["status"],
            paid=format_yuan(payload["paid_fen"]), total=format_yuan(payload["total_fen"]),
            items=len(payload["items"]),
            identities=[_masked(kind, str(value))
                        for kind, value in sorted(payload["identities"].items())]))
    return Preview(
        platform=read.format.platform.value, platform_name=read.format.name,
        encoding=read.table.encoding, header_line=read.table.header_line,
        rows=len(read.table.rows), orders=len(read.mapping.orders), columns=read.columns,
        missing=read.missing, sample=sample, rejected=list(read.mapping.rejected),
        masked_phones=read.mapping.masked_phones)


def import_export(
    factory: sessionmaker[Session], *, actor: Principal, read: ReadExport,
    policy: OneIdPolicy, progress: Callable[[int, int], None] | None = None,
) -> PlatformImport:
    rows = [SourceRow(order.lines[0], order.payload) for order in read.mapping.orders]
    summary = import_rows(factory, actor=actor, kind=ImportKind.ORDERS, rows=rows,
                          policy=policy, progress=progress)
    summary.rows = len(read.table.rows)
    summary.rejected.extend(read.mapping.rejected)
    summary.rejected.sort()
    cells = dict(read.table.rows)
    return PlatformImport(preview=preview(read), summary=summary, table=read.table,
                          rejected_cells={line: cells.get(line, [])
                                          for line, _, _ in summary.rejected})


def write_rejects(result: PlatformImport, path: Path) -> None:
    """The rejected rows as CSV (UTF-8 with BOM, for Excel): line, code, reason, then the
    row's original cells under the file's own headers."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(reject_lines(result))


def reject_lines(result: PlatformImport) -> list[list[str]]:
    """The reject file's rows (header first), for a download."""
    lines = [["line", "code", "message", *result.table.headers]]
    lines.extend([str(line), code, message, *result.rejected_cells.get(line, [])]
                 for line, code, message in sorted(result.summary.rejected))
    return lines


def console_context(
    factory: sessionmaker[Session], *, actor: Principal, raw: bytes, name: str, kind: str,
    policy: OneIdPolicy, preview_only: bool, shown_rejects: int,
) -> dict[str, Any]:
    """What the console's imports page shows for a platform export: the preview, and after an
    import its summary, the first rejects and the reject file as a download."""
    read = read_export(raw, name, kind)
    if preview_only:
        return {"platform_preview": preview(read)}
    result = import_export(factory, actor=actor, read=read, policy=policy)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(reject_lines(result))
    encoded = base64.b64encode(("\ufeff" + buffer.getvalue()).encode()).decode()
    return {"platform_preview": result.preview, "summary": result.summary,
            "rejects": sorted(result.summary.rejected)[:shown_rejects],
            "reject_file": f"data:text/csv;charset=utf-8;base64,{encoded}"
            if result.summary.rejected else None,
            "reject_file_name": f"{Path(name).stem}.rejects.csv"}
