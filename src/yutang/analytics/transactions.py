"""A transactions file (customer_id, date, amount) → one summary row per customer.

The summary is the one the BG/NBD and Gamma-Gamma literature uses (and lifetimes'
``summary_data_from_transaction_data`` computes): a customer's purchases on the same day are one
purchase with the amounts summed; purchases after the observation end are ignored;
frequency is the number of purchase days after the first, recency the days from the first to
the last, T the days from the first to the observation end (both divided by 7 in weeks), and
monetary value the mean amount of the repeat purchase days (0 without repeat purchases).

Parsing and grouping run in Polars, columnar: ten million rows take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from yutang.analytics.clv_kernels import customers_of_sorted_rows
from yutang.analytics.errors import (
    BadAmount,
    BadCustomerId,
    BadDate,
    EmptyTransactions,
    MissingColumns,
    NegativeAmount,
    ObservationEndBeforeData,
    TransactionsFileNotFound,
    TransactionsFileUnreadable,
)

COLUMNS = ("customer_id", "date", "amount")
_FIRST_DATA_LINE = 2
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}([T ].*)?$"
_EPOCH = date(1970, 1, 1)
_PREFIX_BITS = 16
"""Fewer bits of the customer hash in the sort key would make groups of customers share a
prefix so often that telling them apart costs more than grouping the strings."""


class TimeUnit(StrEnum):
    DAY = "day"
    WEEK = "week"

    @property
    def days(self) -> int:
        return 7 if self is TimeUnit.WEEK else 1

    @property
    def periods_per_month(self) -> float:
        """The month lifetimes uses for CLV: 30 days or 4.345 weeks."""
        return 4.345 if self is TimeUnit.WEEK else 30.0


@dataclass(frozen=True)
class CustomerSummary:
    """One entry per customer, in the order of their first line in the file."""

    customer_id: pl.Series
    frequency: npt.NDArray[np.int64]
    recency_days: npt.NDArray[np.int64] | npt.NDArray[np.float64]
    """Whole days for dated transactions, fractional for timed ones (the pool's orders)."""
    age_days: npt.NDArray[np.int64] | npt.NDArray[np.float64]
    monetary_value: npt.NDArray[np.float64]
    observation_end: date

    @property
    def customers(self) -> int:
        return self.customer_id.len()

    def recency(self, unit: TimeUnit) -> npt.NDArray[np.float64]:
        return np.asarray(self.recency_days / unit.days, dtype=np.float64)

    def age(self, unit: TimeUnit) -> npt.NDArray[np.float64]:
        return np.asarray(self.age_days / unit.days, dtype=np.float64)


def read_transactions(path: Path) -> pl.DataFrame:
    """Columns customer_id (str), day (date), amount (float), line (int); checked row by row.

    A typed read is the fast path; if it fails or any value breaks a rule, the file is read
    again as text to name the first offending line and the reason.
    """
    if not path.is_file():
        raise TransactionsFileNotFound(f"no such file: {path}", path=str(path))
    if path.stat().st_size == 0:
        raise EmptyTransactions(f"{path} is empty", path=str(path))
    header = _header(path)
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise MissingColumns(
            f"{path} lacks the column(s) {', '.join(missing)} (needs customer_id,date,amount)",
            missing=missing)
    try:
        typed = pl.read_csv(
            path, columns=list(COLUMNS),
            schema_overrides={"customer_id": pl.String, "date": pl.Date, "amount": pl.Float64},
        )
    except (pl.exceptions.PolarsError, ValueError):
        return _read_as_text(path)
    valid = typed.select(
        (pl.col("customer_id").is_not_null() & pl.col("date").is_not_null()
         & pl.col("amount").is_finite() & (pl.col("amount") >= 0)).all()
    ).item()
    if typed.height == 0:
        raise EmptyTransactions(f"{path} has a header but no transactions", path=str(path))
    if not valid:
        return _read_as_text(path)
    return typed.rename({"date": "day"}).with_row_index("line", offset=_FIRST_DATA_LINE)


def _header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        first_line = handle.readline().decode("utf-8", errors="replace")
    return [name.strip().strip('"').lstrip("\ufeff").strip() for name in first_line.split(",")]


def _read_as_text(path: Path) -> pl.DataFrame:
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy",
                          columns=list(COLUMNS))
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise TransactionsFileUnreadable(
            f"{path} is not a readable CSV file: {first_line}", path=str(path)) from None
    if raw.height == 0:
        raise EmptyTransactions(f"{path} has a header but no transactions", path=str(path))
    table = raw.select(
        pl.col("customer_id"),
        pl.col("date").str.strip_chars().alias("date_text"),
        pl.col("amount").str.strip_chars().alias("amount_text"),
    ).with_row_index("line", offset=_FIRST_DATA_LINE).with_columns(
        pl.when(pl.col("date_text").str.contains(_ISO_DATE))
        .then(pl.col("date_text").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None).alias("day"),
        pl.col("amount_text").cast(pl.Float64, strict=False).alias("amount"),
    )
    _reject(table, pl.col("customer_id").is_null() | (pl.col("customer_id") == ""),
            BadCustomerId, "customer_id", "an empty customer_id")
    _reject(table, pl.col("day").is_null(), BadDate, "date_text",
            "a date that is not YYYY-MM-DD")
    _reject(table, pl.col("amount").is_null() | ~pl.col("amount").is_finite(), BadAmount,
            "amount_text", "an amount that is not a number")
    _reject(table, pl.col("amount") < 0, NegativeAmount, "amount_text", "a negative amount")
    return table.select("customer_id", "day", "amount", "line")


def _reject(
    table: pl.DataFrame, bad: pl.Expr, error: type[Exception], column: str, what: str
) -> None:
    rejected = table.filter(bad)
    if rejected.height == 0:
        return
    first = rejected.row(0, named=True)
    shown = first[column]
    more = f" (and {rejected.height - 1:,} more rows)" if rejected.height > 1 else ""
    raise error(f"line {first['line']} has {what}: {shown!r}{more}")


def summarise(transactions: pl.DataFrame, observation_end: date | None = None) -> CustomerSummary:
    """The per-customer summary; the observation end defaults to the last date in the data."""
    first_day = transactions.get_column("day").min()
    last_day = transactions.get_column("day").max()
    assert isinstance(first_day, date) and isinstance(last_day, date)
    end = last_day if observation_end is None else observation_end
    if end < first_day:
        raise ObservationEndBeforeData(
            f"the observation end {end.isoformat()} is before the first transaction "
            f"({first_day.isoformat()})")
    observed = transactions.filter(pl.col("day") <= end)
    columns = _summary_by_hashing(observed, end) or _summary_by_strings(observed, end)
    return CustomerSummary(**columns, observation_end=end)


_Columns = dict[str, Any]


def _summary_by_hashing(observed: pl.DataFrame, end: date) -> _Columns | None:
    """One sort of 64-bit integers instead of grouping strings: each row's key holds, from
    the high bits down, a prefix of a hash of the customer id, the day and the row number.
    A compiled pass over the sorted keys then tells customers apart by two full hashes and
    summarises each one. ``None`` if days and rows leave too few bits for the prefix."""
    if observed.height == 0:
        return _columns_of_no_customers()
    first_day = observed.get_column("day").min()
    assert isinstance(first_day, date)
    day_bits = max(1, (end - first_day).days.bit_length())
    row_bits = max(1, (observed.height - 1).bit_length())
    if 64 - day_bits - row_bits < _PREFIX_BITS:
        return None
    hashed = observed.select(
        pl.col("customer_id").hash(seed=0).alias("customer"),
        pl.col("customer_id").hash(seed=1).alias("check"),
        pl.col("day").to_physical().alias("day"),
    )
    customer = hashed.get_column("customer").to_numpy()
    day_offset = (hashed.get_column("day").to_numpy().astype(np.int64)
                  - (first_day - _EPOCH).days).astype(np.uint64)
    low_bits = np.uint64(day_bits + row_bits)
    keys = (customer >> low_bits) << low_bits
    keys |= day_offset << np.uint64(row_bits)
    keys |= np.arange(observed.height, dtype=np.uint64)
    keys.sort()
    first_row, frequency, recency, first_offset, monetary = customers_of_sorted_rows(
        keys, day_bits, row_bits, customer, hashed.get_column("check").to_numpy(),
        observed.get_column("amount").to_numpy())
    # Rows keep the file's order, so a customer's first row is their first line.
    by_first_line = np.argsort(first_row)
    return {
        "customer_id": observed.get_column("customer_id").gather(first_row[by_first_line]),
        "frequency": frequency[by_first_line],
        "recency_days": recency[by_first_line],
        "age_days": (end - first_day).days - first_offset[by_first_line],
        "monetary_value": monetary[by_first_line],
    }


def _columns_of_no_customers() -> _Columns:
    empty = np.zeros(0, dtype=np.int64)
    return {"customer_id": pl.Series("customer_id", [], dtype=pl.String), "frequency": empty,
            "recency_days": empty, "age_days": empty,
            "monetary_value": np.zeros(0, dtype=np.float64)}


def _summary_by_strings(observed: pl.DataFrame, end: date) -> _Columns:
    """The same summary by grouping on the customer id strings (slower, no hashing)."""
    customers = (
        observed.lazy()
        .group_by("customer_id", "day")
        .agg(pl.col("amount").sum(), pl.col("line").min())
        .group_by("customer_id")
        .agg(
            pl.col("line").min().alias("first_line"),
            pl.col("day").min().alias("first_day"),
            pl.col("day").max().alias("last_day"),
            (pl.len() - 1).cast(pl.Int64).alias("frequency"),
            pl.col("amount").sort_by("day").slice(1).sum().alias("repeat_total"),
        )
        .sort("first_line")
        .with_columns(
            (pl.col("last_day") - pl.col("first_day")).dt.total_days().alias("recency_days"),
            (pl.lit(end) - pl.col("first_day")).dt.total_days().alias("age_days"),
        )
        .collect()
    )
    frequency = customers.get_column("frequency").to_numpy().astype(np.int64)
    repeat_total = customers.get_column("repeat_total").to_numpy().astype(np.float64)
    return {
        "customer_id": customers.get_column("customer_id"),
        "frequency": frequency,
        "recency_days": customers.get_column("recency_days").to_numpy().astype(np.int64),
        "age_days": customers.get_column("age_days").to_numpy().astype(np.int64),
        "monetary_value": np.where(frequency > 0, repeat_total / np.maximum(frequency, 1), 0.0),
    }
