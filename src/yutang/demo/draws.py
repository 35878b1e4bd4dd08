"""Vectorised random draws and array conventions shared by the demo planners.

Instants are int64 seconds since the Unix epoch (UTC); ``MISSING`` marks an absent one.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

IntegerArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntegerDraw = Callable[[np.random.Generator, int], IntegerArray]

MISSING = -1
"""An absent instant (or reference) in an int64 array."""
MINUTE_SECONDS = 60
HOUR_SECONDS = 60 * MINUTE_SECONDS
DAY_SECONDS = 24 * HOUR_SECONDS
WEEK_SECONDS = 7 * DAY_SECONDS

# An odd multiplier makes ``position * multiplier + salt`` a bijection modulo 2**32.
_SCRAMBLE_MULTIPLIER = 0x9E3779B1
_POSITION_BYTES = 4


def generator(seed_sequence: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed_sequence))


def choose(
    rng: np.random.Generator, weights: Sequence[float] | FloatArray, count: int
) -> IntegerArray:
    """``count`` indexes into ``weights``, drawn with probability proportional to the weight."""
    probabilities = np.asarray(weights, dtype=np.float64)
    probabilities = probabilities / probabilities.sum()
    chosen: IntegerArray = rng.choice(len(probabilities), size=count, p=probabilities)
    return chosen


def happens(rng: np.random.Generator, probability: float | FloatArray, count: int) -> BoolArray:
    """One Bernoulli outcome per entry."""
    outcome: BoolArray = rng.random(count) < probability
    return outcome


def unique_draws(rng: np.random.Generator, count: int, draw: IntegerDraw) -> IntegerArray:
    """``count`` distinct integers from ``draw``; repeated values are drawn again, in order."""
    values = draw(rng, count)
    while True:
        _, first_positions = np.unique(values, return_index=True)
        repeated = np.ones(count, dtype=bool)
        repeated[first_positions] = False
        if not repeated.any():
            return values
        values[repeated] = draw(rng, int(repeated.sum()))


def uniform_integers(low: int, high: int) -> IntegerDraw:
    """A draw of integers in ``[low, high)``."""

    def draw(rng: np.random.Generator, count: int) -> IntegerArray:
        return rng.integers(low, high, count, dtype=np.int64)

    return draw


def opaque_tokens(rng: np.random.Generator, count: int, *, prefix: str, length: int) -> list[str]:
    """Distinct random-looking URL-safe tokens (openids, external user ids, …).

    The first four bytes of each token are a bijective scramble of its position, so tokens
    are distinct by construction (``length`` of at least 6 keeps those bytes); the rest is random.
    """
    if length < 6:
        raise ValueError("tokens need at least 6 characters to stay distinct")
    body_bytes = -(-length * 3 // 4)
    body_bytes += -body_bytes % 3  # whole base64 quanta: tokens can be cut from one string
    body = rng.integers(0, 256, (count, body_bytes), dtype=np.uint8)
    salt = int(rng.integers(0, 2**32))
    positions = np.arange(count, dtype=np.uint64)
    scrambled = (positions * _SCRAMBLE_MULTIPLIER + salt) % 2**32
    body[:, :_POSITION_BYTES] = scrambled.astype(">u4").view(np.uint8).reshape(count, 4)
    text = base64.urlsafe_b64encode(body.tobytes()).decode()
    width = body_bytes // 3 * 4
    return [prefix + text[start : start + length] for start in range(0, count * width, width)]


def segment_starts(counts: IntegerArray) -> IntegerArray:
    """Where each segment starts in a flat array of segments of ``counts`` entries."""
    starts: IntegerArray = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return starts


def positions_within_segments(counts: IntegerArray) -> IntegerArray:
    """0, 1, … within each segment of a flat array of segments of ``counts`` entries."""
    total = int(counts.sum())
    positions: IntegerArray = np.arange(total, dtype=np.int64) - np.repeat(
        segment_starts(counts), counts
    )
    return positions
