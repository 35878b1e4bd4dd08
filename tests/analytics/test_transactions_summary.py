"""The per-customer summary of a transactions file equals lifetimes'
``summary_data_from_transaction_data`` exactly (weeks are lifetimes' days / 7)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from tests.analytics.lifetimes_oracle import pd, summary_data_from_transaction_data
from yutang.analytics import transactions as transactions_module
from yutang.analytics.transactions import TimeUnit, read_transactions, summarise

START = date(2024, 1, 1)


def write_transactions(path: Path, *, customers: int = 300, seed: int = 5) -> pl.DataFrame:
    """Random purchases over 2024 with same-day repeats; amounts are multiples of 0.25, so
    sums and means are exact in binary and both tools must agree to the last bit."""
    rng = np.random.default_rng(seed)
    purchases = rng.integers(1, 9, customers)
    customer = np.repeat(np.arange(customers), purchases)
    day = rng.integers(0, 366, customer.size)
    same_day = rng.random(customer.size) < 0.15  # a second purchase on the same day
    customer = np.concatenate([customer, customer[same_day]])
    day = np.concatenate([day, day[same_day]])
    amount = rng.integers(0, 800, customer.size) / 4.0
    order = rng.permutation(customer.size)
    table = pl.DataFrame({
        "customer_id": [f"c{number:04d}" for number in customer[order]],
        "date": [(START + timedelta(days=int(offset))).isoformat() for offset in day[order]],
        "amount": amount[order],
    })
    table.write_csv(path)
    return table


def lifetimes_summary(path: Path, unit: TimeUnit, observation_end: date | None) -> Any:
    frame = pd.read_csv(path, dtype={"customer_id": str})
    return summary_data_from_transaction_data(
        frame, "customer_id", "date", monetary_value_col="amount", freq="D",
        freq_multiplier=unit.days,
        observation_period_end=None if observation_end is None else observation_end.isoformat(),
    )


@pytest.mark.parametrize("unit", [TimeUnit.WEEK, TimeUnit.DAY])
@pytest.mark.parametrize("observation_end", [None, date(2024, 9, 30)])
def test_summary_equals_lifetimes(
    tmp_path: Path, unit: TimeUnit, observation_end: date | None
) -> None:
    path = tmp_path / "transactions.csv"
    table = write_transactions(path)
    summary = summarise(read_transactions(path), observation_end)
    theirs = lifetimes_summary(path, unit, observation_end)

    ours = pd.DataFrame({
        "frequency": summary.frequency.astype(float), "recency": summary.recency(unit),
        "T": summary.age(unit), "monetary_value": summary.monetary_value,
    }, index=pd.Index(summary.customer_id.to_list(), name="customer_id")).sort_index()
    theirs = theirs.sort_index()
    assert list(ours.index) == list(theirs.index)
    for column in ("frequency", "recency", "T", "monetary_value"):
        assert np.array_equal(ours[column].to_numpy(), theirs[column].to_numpy()), column
    # The cases the comparison is about are really in the data.
    dates = table.get_column("date")
    assert table.select(pl.struct("customer_id", "date").is_duplicated().any()).item()
    if observation_end is not None:
        assert (dates > observation_end.isoformat()).any()
        assert summary.observation_end == observation_end
        assert summary.customers < table.get_column("customer_id").n_unique()
    else:
        assert summary.observation_end.isoformat() == dates.max()


def test_same_day_purchases_are_one_purchase_and_later_ones_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_text(
        "customer_id,date,amount\n"
        "z,2024-03-01,5\n"           # only after the observation end: not a customer
        "a,2024-01-01,10\n"
        "a,2024-01-01 18:30:00,5\n"   # same day: one purchase of 15
        "b,2024-01-03,7\n"
        "a,2024-01-08,20\n"
        "a,2024-01-08,4\n"            # same day: one repeat purchase of 24
        "a,2024-01-15,30\n"
        "a,2024-02-01,999\n"          # after the observation end: ignored
        "c,2024-02-02,1\n",           # only after the observation end: not a customer
        encoding="utf-8",
    )
    summary = summarise(read_transactions(path), date(2024, 1, 29))
    assert summary.customer_id.to_list() == ["a", "b"]  # order of their first line
    assert summary.frequency.tolist() == [2, 0]
    assert summary.recency_days.tolist() == [14, 0]
    assert summary.age_days.tolist() == [28, 26]
    assert summary.monetary_value.tolist() == [27.0, 0.0]
    assert summary.recency(TimeUnit.WEEK).tolist() == [2.0, 0.0]
    assert summary.age(TimeUnit.WEEK).tolist() == [4.0, 26 / 7]


def test_string_grouping_gives_the_same_summary_as_hashing(tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    write_transactions(path, customers=500, seed=11)
    transactions = read_transactions(path)
    end = date(2024, 10, 15)
    observed = transactions.filter(pl.col("day") <= end)
    hashed = transactions_module._summary_by_hashing(observed, end)
    grouped = transactions_module._summary_by_strings(observed, end)
    assert hashed is not None
    assert hashed["customer_id"].to_list() == grouped["customer_id"].to_list()
    for column in ("frequency", "recency_days", "age_days", "monetary_value"):
        assert np.array_equal(hashed[column], grouped[column]), column
