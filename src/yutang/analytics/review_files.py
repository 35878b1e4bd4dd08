"""A review written as Excel (openpyxl) or as one self-contained HTML page."""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl
from openpyxl import Workbook

from yutang.analytics.errors import BadReportFormat
from yutang.analytics.reviews import Figure, Review

LABELS = {
    "pool_customers": "客户池 pool customers", "new_customers": "新客 new customers",
    "gmv_fen": "GMV (元)", "paid_orders": "支付订单 paid orders", "buyers": "购买人数 buyers",
    "aov_fen": "客单价 AOV (元)", "repurchase_rate": "复购率 repurchase rate",
    "order_frequency": "购买频次 order frequency", "returning_buyers": "老客 returning buyers",
    "funnel_viewed": "浏览 viewed", "funnel_paid": "支付 paid",
    "funnel_conversion": "转化率 conversion", "spend_fen": "渠道花费 spend (元)",
    "cac_fen": "获客成本 CAC (元)", "tier_vip": "VIP", "tier_high": "高价值 high",
    "tier_medium": "中价值 medium", "tier_low": "低价值 low", "tier_prospect": "潜客 prospect",
}
FORMATS = (".xlsx", ".html")


def check_output(path: Path) -> None:
    if path.suffix.lower() not in FORMATS:
        raise BadReportFormat(
            f"--out {path.name!r}: the report is written as .xlsx or .html", path=str(path))


def shown(figure: Figure, value: float | None) -> float | None:
    if value is None:
        return None
    if figure.kind == "fen":
        return round(value / 100.0, 2)
    return round(value, 4) if figure.kind in ("ratio", "number") else value


def write_review(review: Review, path: Path) -> None:
    check_output(path)
    if path.suffix.lower() == ".xlsx":
        _write_excel(review, path)
    else:
        path.write_text(review_html(review), encoding="utf-8")


def _title(review: Review) -> str:
    store = f" · {review.store_code}" if review.store_code else ""
    return (f"{review.kind.value} review {review.period.label}{store} "
            f"(vs {review.previous.label})")


def _write_excel(review: Review, path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "summary"
    sheet.append([_title(review)])
    sheet.append(["figure", "key", review.period.label, review.previous.label, "change"])
    for figure in review.figures:
        sheet.append([LABELS.get(figure.key, figure.key), figure.key,
                      shown(figure, figure.current), shown(figure, figure.previous),
                      None if figure.change is None else round(figure.change, 4)])
    for name, table in review.tables.items():
        tab = workbook.create_sheet(name[:31])
        tab.append(table.columns)
        for row in _cells(table).iter_rows():
            tab.append(list(row))
    workbook.save(path)


def _cells(table: pl.DataFrame) -> pl.DataFrame:
    return table.with_columns(pl.col(pl.Date).cast(pl.String))


def review_html(review: Review) -> str:
    escape = html.escape
    rows = "".join(
        f"<tr><td>{escape(LABELS.get(figure.key, figure.key))}</td>"
        f"<td>{_text(shown(figure, figure.current))}</td>"
        f"<td>{_text(shown(figure, figure.previous))}</td>"
        f"<td>{'' if figure.change is None else f'{figure.change:+.1%}'}</td></tr>"
        for figure in review.figures)
    tables = "".join(
        f"<h2>{escape(name)}</h2><table><tr>"
        + "".join(f"<th>{escape(column)}</th>" for column in table.columns) + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>"
                  for row in _cells(table).iter_rows())
        + "</table>"
        for name, table in review.tables.items())
    return (
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(_title(review))}</title><style>body{{font-family:sans-serif}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
        "</style></head><body>"
        f"<h1>{escape(_title(review))}</h1><table><tr><th>figure</th>"
        f"<th>{escape(review.period.label)}</th><th>{escape(review.previous.label)}</th>"
        f"<th>change</th></tr>{rows}</table>{tables}</body></html>")


def _text(value: object) -> str:
    return "" if value is None else html.escape(str(value))
