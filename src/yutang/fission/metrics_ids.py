"""Customer ids as array positions without sorting: customer ids are a dense sequence, so a
table over their range numbers them (and tests membership) in linear time; a sparse range
falls back to sorting (``np.unique``, ``np.isin``)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

DENSE_FACTOR = 8
DENSE_MINIMUM = 1 << 20
"""A lookup table over the id range is used when the range is at most this many times the
number of ids (plus a minimum)."""


def _dense(arrays: list[NDArray[np.int64]]) -> int | None:
    """The top id when ``arrays`` (non-empty) fit a lookup table, else None."""
    top = max(int(array.max()) for array in arrays)
    low = min(int(array.min()) for array in arrays)
    total = sum(array.shape[0] for array in arrays)
    return top if low >= 0 and top <= DENSE_FACTOR * total + DENSE_MINIMUM else None


def compact(*arrays: NDArray[np.int64]) -> tuple[NDArray[np.int64], list[NDArray[np.int64]]]:
    """The distinct positive ids of ``arrays``, ascending, and each array's positions among
    them (-1 for 0, "nobody")."""
    filled = [array for array in arrays if array.shape[0]]
    if not filled:
        return np.zeros(0, dtype=np.int64), [np.full(array.shape[0], -1, dtype=np.int64)
                                             for array in arrays]
    top = _dense(filled)
    if top is not None:
        present = np.zeros(top + 1, dtype=np.bool_)
        for array in filled:
            present[array] = True
        present[0] = False
        nodes = np.flatnonzero(present).astype(np.int64)
        lookup = np.full(top + 1, -1, dtype=np.int64)
        lookup[nodes] = np.arange(nodes.shape[0], dtype=np.int64)
        return nodes, [lookup[array] for array in arrays]
    nodes = np.unique(np.concatenate(filled))
    nodes = nodes[nodes > 0]
    positions = []
    for array in arrays:
        if nodes.shape[0] == 0:
            positions.append(np.full(array.shape[0], -1, dtype=np.int64))
            continue
        found = np.minimum(np.searchsorted(nodes, array), nodes.shape[0] - 1)
        positions.append(np.where(nodes[found] == array, found, -1).astype(np.int64))
    return nodes, positions


def distinct(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """The distinct positive ids, ascending."""
    return compact(values)[0]


def is_in(values: NDArray[np.int64], members: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``np.isin(values, members)`` for ids."""
    if values.shape[0] == 0 or members.shape[0] == 0:
        return np.zeros(values.shape[0], dtype=np.bool_)
    top = _dense([values, members])
    if top is None:
        return np.isin(values, members)
    mask = np.zeros(top + 1, dtype=np.bool_)
    mask[members] = True
    return mask[values]
