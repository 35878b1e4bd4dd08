"""Compiled per-customer loops of the CLV models (Numba, cached on disk, GIL released).

Each likelihood kernel makes one pass over its customers and returns the summed value, the
gradient and the Hessian with respect to the models' natural parameters, packed as
``[value, gradient..., hessian row by row...]``; the per-x terms and the change to
log-parameters stay in NumPy (``bgnbd``, ``gamma_gamma``). ``sum_in_chunks`` splits the
customers over threads; the chunked sums also keep rounding errors small.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

_THREADS = 2
_CHUNK_ROWS = 1 << 16
_POOL = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="clv")


def sum_in_chunks(kernel: Callable[..., FloatArray], rows: int, columns: tuple[Any, ...],
                  *arguments: Any) -> FloatArray:
    """Σ over chunks of ``kernel(*(column[chunk] for column in columns), *arguments)``.

    A column of length 0 (no weights) is passed whole to every chunk.
    """
    def chunk(start: int) -> FloatArray:
        stop = min(start + _CHUNK_ROWS, rows)
        sliced = tuple(column[start:stop] if column.size else column for column in columns)
        return kernel(*sliced, *arguments)

    starts = range(0, rows, _CHUNK_ROWS)
    if len(starts) <= 1:
        return chunk(0)
    parts = list(_POOL.map(chunk, starts))
    return np.asarray(np.sum(parts, axis=0), dtype=np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def beta_geo_sums(frequency: Any, recency: Any, age: Any, weight: Any, r: float,
                  alpha: float, a: float, log_dropout_odds: Any,
                  inverse_b_plus: Any) -> FloatArray:  # pragma: no cover - compiled
    """Σ w·log[(α+T)^-(r+x) + [x>0] a/(b+x-1) (α+t_x)^-(r+x)] with derivatives in (r, α, a, b).

    ``log_dropout_odds[x]`` = log(a/(b+x-1)), ``inverse_b_plus[x]`` = 1/(b+x-1) for x > 0.
    The two branches combine by log-sum-exp; ``dropped`` is the second branch's share.
    """
    value = 0.0
    g_r = g_alpha = g_a = g_b = 0.0
    h_rr = h_r_alpha = h_ra = h_rb = 0.0
    h_alpha_alpha = h_alpha_a = h_alpha_b = 0.0
    h_aa = h_ab = h_bb = 0.0
    weighted = weight.size > 0
    for row in range(frequency.size):
        w = weight[row] if weighted else 1.0
        x = frequency[row]
        shape = r + x
        inverse_age = 1.0 / (alpha + age[row])
        log_age = np.log(alpha + age[row])
        alive_branch = -shape * log_age
        alive_d_alpha = -shape * inverse_age
        if x == 0:
            value += w * alive_branch
            g_r -= w * log_age
            g_alpha += w * alive_d_alpha
            h_r_alpha -= w * inverse_age
            h_alpha_alpha += w * shape * inverse_age * inverse_age
            continue
        inverse_recency = 1.0 / (alpha + recency[row])
        log_recency = np.log(alpha + recency[row])
        dropped_branch = log_dropout_odds[x] - shape * log_recency
        difference = dropped_branch - alive_branch
        if difference > 0.0:
            ratio = np.exp(-difference)
            value += w * (dropped_branch + np.log1p(ratio))
            dropped = 1.0 / (1.0 + ratio)
            alive = ratio * dropped
        else:
            ratio = np.exp(difference)
            value += w * (alive_branch + np.log1p(ratio))
            alive = 1.0 / (1.0 + ratio)
            dropped = ratio * alive
        inverse_b = inverse_b_plus[x]
        dropped_d_alpha = -shape * inverse_recency
        g_r -= w * (alive * log_age + dropped * log_recency)
        g_alpha += w * (alive * alive_d_alpha + dropped * dropped_d_alpha)
        g_a += w * dropped
        g_b -= w * dropped * inverse_b
        # Differences of the branches' derivatives, for the log-sum-exp's curvature.
        mix = w * alive * dropped
        d_r = log_age - log_recency
        d_alpha = dropped_d_alpha - alive_d_alpha
        d_a = 1.0 / a
        h_rr += mix * d_r * d_r
        h_r_alpha += mix * d_r * d_alpha - w * (alive * inverse_age + dropped * inverse_recency)
        h_ra += mix * d_r * d_a
        h_rb -= mix * d_r * inverse_b
        h_alpha_alpha += mix * d_alpha * d_alpha + w * shape * (
            alive * inverse_age * inverse_age + dropped * inverse_recency * inverse_recency)
        h_alpha_a += mix * d_alpha * d_a
        h_alpha_b -= mix * d_alpha * inverse_b
        h_aa += (mix - w * dropped) * d_a * d_a
        h_ab -= mix * d_a * inverse_b
        h_bb += (mix + w * dropped) * inverse_b * inverse_b
    hessian = np.empty((4, 4))
    hessian[0, 0] = h_rr
    hessian[0, 1] = hessian[1, 0] = h_r_alpha
    hessian[0, 2] = hessian[2, 0] = h_ra
    hessian[0, 3] = hessian[3, 0] = h_rb
    hessian[1, 1] = h_alpha_alpha
    hessian[1, 2] = hessian[2, 1] = h_alpha_a
    hessian[1, 3] = hessian[3, 1] = h_alpha_b
    hessian[2, 2] = h_aa
    hessian[2, 3] = hessian[3, 2] = h_ab
    hessian[3, 3] = h_bb
    return _packed(value, np.array([g_r, g_alpha, g_a / a, g_b]), hessian)


@njit(cache=True, nogil=True, error_model="numpy")
def gamma_gamma_sums(frequency: Any, mean_spend: Any, weight: Any, p: float, q: float,
                     v: float) -> FloatArray:  # pragma: no cover - compiled
    """Σ -w·(p·x + q)·log(x·m + v) with derivatives in (p, q, v)."""
    value = 0.0
    g_p = g_q = g_v = 0.0
    h_pv = h_qv = h_vv = 0.0
    weighted = weight.size > 0
    for row in range(frequency.size):
        w = weight[row] if weighted else 1.0
        x = frequency[row]
        rate = x * mean_spend[row] + v
        log_rate = np.log(rate)
        inverse_rate = 1.0 / rate
        shape = p * x + q
        value -= w * shape * log_rate
        g_p -= w * x * log_rate
        g_q -= w * log_rate
        g_v -= w * shape * inverse_rate
        h_pv -= w * x * inverse_rate
        h_qv -= w * inverse_rate
        h_vv += w * shape * inverse_rate * inverse_rate
    hessian = np.zeros((3, 3))
    hessian[0, 2] = hessian[2, 0] = h_pv
    hessian[1, 2] = hessian[2, 1] = h_qv
    hessian[2, 2] = h_vv
    return _packed(value, np.array([g_p, g_q, g_v]), hessian)


@njit(cache=True, nogil=True)
def _packed(value: float, gradient: Any, hessian: Any) -> FloatArray:  # pragma: no cover
    size = gradient.size
    result = np.empty(1 + size + size * size)
    result[0] = value
    result[1 : 1 + size] = gradient
    result[1 + size :] = hessian.ravel()
    return result


def unpacked(sums: FloatArray, size: int) -> tuple[float, FloatArray, FloatArray]:
    """(value, gradient, Hessian) from a kernel's packed sums."""
    return (float(sums[0]), np.asarray(sums[1 : 1 + size], dtype=np.float64),
            np.asarray(sums[1 + size :].reshape(size, size), dtype=np.float64))


_EMPTY = np.uint64(0)


@njit(cache=True, nogil=True)
def first_appearance_codes(high: Any, low: Any) -> tuple[Any, Any]:  # pragma: no cover
    """For keys (high[i], low[i]): each row's code, numbering distinct keys 0, 1, … in the
    order of their first row, and the first row of each code.

    Open addressing with linear probing; the table doubles when half full, so few distinct
    keys (ages, (x, T) pairs) stay in cache and many (customers) cost about one cache miss.
    """
    rows = high.size
    codes = np.empty(rows, dtype=np.int64)
    first_rows = np.empty(rows, dtype=np.int64)
    table = np.zeros((1 << 12, 3), dtype=np.uint64)  # high, low, code + 1 (0: empty)
    distinct = 0
    for row in range(rows):
        if 2 * (distinct + 1) > table.shape[0]:
            table = _grown(table)
        mask = table.shape[0] - 1
        slot = _mixed(high[row], low[row]) & mask
        while True:
            stored = table[slot, 2]
            if stored == _EMPTY:
                table[slot, 0] = high[row]
                table[slot, 1] = low[row]
                table[slot, 2] = distinct + 1
                codes[row] = distinct
                first_rows[distinct] = row
                distinct += 1
                break
            if table[slot, 0] == high[row] and table[slot, 1] == low[row]:
                codes[row] = stored - 1
                break
            slot = (slot + 1) & mask
    return codes, first_rows[:distinct].copy()


@njit(cache=True, nogil=True)
def _mixed(high: Any, low: Any) -> Any:  # pragma: no cover - compiled
    """A 64-bit mix of two keys (SplitMix64's finaliser)."""
    value = high * np.uint64(0x9E3779B97F4A7C15) ^ low
    value ^= value >> np.uint64(30)
    value *= np.uint64(0xBF58476D1CE4E5B9)
    value ^= value >> np.uint64(27)
    value *= np.uint64(0x94D049BB133111EB)
    value ^= value >> np.uint64(31)
    return value


@njit(cache=True, nogil=True)
def _grown(table: Any) -> Any:  # pragma: no cover - compiled
    grown = np.zeros((2 * table.shape[0], 3), dtype=np.uint64)
    mask = grown.shape[0] - 1
    for old in range(table.shape[0]):
        if table[old, 2] == _EMPTY:
            continue
        slot = _mixed(table[old, 0], table[old, 1]) & mask
        while grown[slot, 2] != _EMPTY:
            slot = (slot + 1) & mask
        grown[slot, :] = table[old, :]
    return grown


@njit(cache=True, nogil=True)
def _customers_of_sorted_rows(keys: Any, day_bits: int, row_bits: int,
                              rows_data: Any) -> tuple[Any, ...]:  # pragma: no cover
    """Per customer, from transaction keys sorted as (customer hash prefix, day, row).

    ``rows_data[row]`` holds the row's (customer hash, check hash, amount as bits): one cache
    line per row. Rows with equal prefixes are told apart by the two full hashes, so
    prefix collisions cost a little time, never a wrong answer. Returns, one entry per
    customer in no particular order: the first row, the number of purchase days after the
    first, the days from the first to the last purchase day, the first purchase day and the
    mean amount of the repeat purchase days (0 without any).
    """
    rows = keys.size
    row_mask = np.uint64((1 << row_bits) - 1)
    day_mask = np.uint64((1 << day_bits) - 1)
    prefix_shift = np.uint64(row_bits + day_bits)
    # Gather first, in one loop of independent loads: the rows are scattered in memory.
    row_of = np.empty(rows, dtype=np.int64)
    customer_of = np.empty(rows, dtype=np.uint64)
    check_of = np.empty(rows, dtype=np.uint64)
    amount_of = np.empty(rows, dtype=np.float64)
    for position in range(rows):
        row = np.int64(keys[position] & row_mask)
        row_of[position] = row
        customer_of[position] = rows_data[row, 0]
        check_of[position] = rows_data[row, 1]
        amount_of[position] = rows_data[row, 2:3].view(np.float64)[0]
    first_row = np.empty(rows, dtype=np.int64)
    frequency = np.empty(rows, dtype=np.int64)
    recency = np.empty(rows, dtype=np.int64)
    first_day = np.empty(rows, dtype=np.int64)
    monetary = np.empty(rows, dtype=np.float64)
    done = np.zeros(rows, dtype=np.bool_)  # by position in ``keys``
    customers = 0
    group_start = 0
    while group_start < rows:
        prefix = keys[group_start] >> prefix_shift
        group_end = group_start + 1
        while group_end < rows and keys[group_end] >> prefix_shift == prefix:
            group_end += 1
        for start in range(group_start, group_end):
            if done[start]:
                continue
            # One customer: the rows of this group with the start row's full hashes, in
            # (day, row) order.
            who, verify = customer_of[start], check_of[start]
            lowest_row = row_of[start]
            earliest = last = np.int64((keys[start] >> np.uint64(row_bits)) & day_mask)
            days = 1
            repeat_total = 0.0
            current_day = earliest
            for position in range(start, group_end):
                if done[position]:
                    continue
                if customer_of[position] != who or check_of[position] != verify:
                    continue
                done[position] = True
                day = np.int64((keys[position] >> np.uint64(row_bits)) & day_mask)
                if day != current_day:
                    days += 1
                    current_day = last = day
                if day != earliest:
                    repeat_total += amount_of[position]
                lowest_row = min(lowest_row, row_of[position])
            first_row[customers] = lowest_row
            frequency[customers] = days - 1
            recency[customers] = last - earliest
            first_day[customers] = earliest
            monetary[customers] = repeat_total / (days - 1) if days > 1 else 0.0
            customers += 1
        group_start = group_end
    return (first_row[:customers], frequency[:customers], recency[:customers],
            first_day[:customers], monetary[:customers])


def customers_of_sorted_rows(keys: Any, day_bits: int, row_bits: int, customer: Any,
                             check: Any, amount: Any) -> tuple[Any, ...]:
    """``_customers_of_sorted_rows`` on one part of the keys per thread, parts cut between
    customer hash prefixes."""
    rows_data = np.empty((customer.size, 3), dtype=np.uint64)
    rows_data[:, 0] = customer
    rows_data[:, 1] = check
    rows_data[:, 2] = np.ascontiguousarray(amount, dtype=np.float64).view(np.uint64)
    prefix_shift = np.uint64(day_bits + row_bits)
    cuts = [0]
    for part in range(1, _THREADS):
        prefix = keys[keys.size * part // _THREADS] >> prefix_shift
        cuts.append(int(np.searchsorted(keys, prefix << prefix_shift)))
    cuts.append(keys.size)
    parts = list(_POOL.map(
        lambda start, stop: _customers_of_sorted_rows(
            keys[start:stop], day_bits, row_bits, rows_data),
        cuts[:-1], cuts[1:]))
    return tuple(np.concatenate(columns) for columns in zip(*parts, strict=True))
