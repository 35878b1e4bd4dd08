"""The compiled loops behind the CLV tool, on cases the end-to-end tests rarely reach."""

from __future__ import annotations

import numpy as np

from yutang.analytics.clv_kernels import customers_of_sorted_rows, first_appearance_codes


def test_customers_sharing_a_hash_prefix_are_told_apart() -> None:
    # Customers A and B: equal hash prefixes, different full hashes. A buys on days 0 and 3;
    # B twice on day 1 (one purchase day).
    customer = np.array([7 << 60 | 1, 7 << 60 | 2, 7 << 60 | 1, 7 << 60 | 2], dtype=np.uint64)
    check = np.array([5, 6, 5, 6], dtype=np.uint64)
    day = np.array([0, 1, 3, 1], dtype=np.uint64)
    amount = np.array([1.0, 2.0, 4.0, 8.0])
    day_bits = row_bits = 4
    low_bits = np.uint64(day_bits + row_bits)
    keys = ((customer >> low_bits) << low_bits) | (day << np.uint64(row_bits)) | np.arange(
        4, dtype=np.uint64)
    keys.sort()

    first_row, frequency, recency, first_day, monetary = customers_of_sorted_rows(
        keys, day_bits, row_bits, customer, check, amount)

    order = np.argsort(first_row)
    assert first_row[order].tolist() == [0, 1]
    assert frequency[order].tolist() == [1, 0]
    assert recency[order].tolist() == [3, 0]
    assert first_day[order].tolist() == [0, 1]
    assert monetary[order].tolist() == [4.0, 0.0]


def test_first_appearance_codes_number_keys_in_order_past_the_table_growth() -> None:
    rng = np.random.default_rng(5)
    high = rng.integers(0, 3_000, 50_000).astype(np.uint64)
    low = rng.integers(0, 4, 50_000).astype(np.uint64)

    codes, first_rows = first_appearance_codes(high, low)

    pairs = list(zip(high.tolist(), low.tolist(), strict=True))
    expected: dict[tuple[int, int], int] = {}
    for pair in pairs:
        expected.setdefault(pair, len(expected))
    assert first_rows.size == len(expected) > 4_096
    assert codes.tolist() == [expected[pair] for pair in pairs]
    assert [pairs[row] for row in first_rows.tolist()] == list(expected)
