"""The uplift of a campaign: the difference of conversion rates between the treated and the
holdout, with a 95% interval by Newcombe's hybrid score method (Newcombe 1998, method 10):
each rate gets its Wilson score interval, and the difference's limits combine their
distances. It keeps its coverage near 95% where the normal approximation (Wald) fails: small
holdouts and rates near 0 — exactly a 10% holdout of a campaign converting 2%.

The functions take NumPy arrays as well as numbers, so the coverage test simulates
thousands of campaigns with the very function the results page uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Z_95 = 1.959963984540054

Number = Any  # a float or an ndarray of floats


def wilson_interval(successes: Number, trials: Number,
                    z: float = Z_95) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson's score interval of a proportion (0, 0 … 0, 1 when there are no trials)."""
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    safe = np.where(n > 0, n, 1.0)
    p = np.clip(x / safe, 0.0, 1.0)
    z2 = z * z
    denominator = 1.0 + z2 / safe
    centre = (p + z2 / (2.0 * safe)) / denominator
    half = z * np.sqrt(p * (1.0 - p) / safe + z2 / (4.0 * safe * safe)) / denominator
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def newcombe_interval(treated_successes: Number, treated: Number, holdout_successes: Number,
                      holdout: Number, z: float = Z_95
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(difference, low, high) of the treated rate minus the holdout rate."""
    x1 = np.asarray(treated_successes, dtype=np.float64)
    n1 = np.asarray(treated, dtype=np.float64)
    x2 = np.asarray(holdout_successes, dtype=np.float64)
    n2 = np.asarray(holdout, dtype=np.float64)
    p1 = x1 / np.where(n1 > 0, n1, 1.0)
    p2 = x2 / np.where(n2 > 0, n2, 1.0)
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    low = difference - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, low, high
