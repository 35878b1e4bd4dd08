"""Planted buying behaviour: when customers buy (BG/NBD) and how much they spend (Gamma-Gamma).

BG/NBD (Fader, Hardie and Lee, 2005), time in weeks: every customer buys for the first time
when acquired; while alive, repeat purchases arrive as a Poisson process of rate
λ ~ Gamma(shape r, rate α); after each repeat purchase the customer drops out for good with
probability p ~ Beta(a, b). Simulated exactly and without a loop per customer: the Poisson
process over the observation window is N ~ Poisson(λT) points spread uniformly over the
window, and the customer makes the first min(K, N) of them, where K ~ Geometric(p) counts the
repeat purchases made before dropping out.

Gamma-Gamma (Fader, Hardie and Lee, 2005; Colombo and Jiang, 1999), amounts in fen: each
customer has ν ~ Gamma(shape q, rate v); each of their order totals is Gamma(shape p, rate ν),
rounded to the fen (the expected order total is p·v / (q − 1)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from yutang.demo.draws import FloatArray, IntegerArray, positions_within_segments

SMALLEST_DROPOUT_PROBABILITY = 1e-12


@dataclass(frozen=True)
class PurchaseProcess:
    """BG/NBD parameters; λ is in purchases per ``unit``."""

    r: float = 0.25
    alpha: float = 12.0
    a: float = 0.8
    b: float = 2.4
    unit: str = "week"

    def as_truth(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OrderValueModel:
    """Gamma-Gamma parameters; ``v`` (the rate of ν's gamma) and the values are in fen."""

    p: float = 6.0
    q: float = 3.8
    v: float = 3_200.0
    unit: str = "fen"

    @property
    def expected_order_total_fen(self) -> float:
        return self.p * self.v / (self.q - 1)

    def as_truth(self) -> dict[str, Any]:
        return {**asdict(self), "applies_to": "total_fen of every non-bait order"}


@dataclass(frozen=True)
class RepeatPurchases:
    """Repeat purchases of all customers, by customer then time."""

    customer: IntegerArray
    weeks_after_first: FloatArray


def simulate_repeat_purchases(
    rng: np.random.Generator, observed_weeks: FloatArray, process: PurchaseProcess
) -> RepeatPurchases:
    """Repeat purchases within each customer's window (first purchase to observation end)."""
    count = len(observed_weeks)
    rate = rng.gamma(process.r, 1.0 / process.alpha, count)
    dropout = np.clip(rng.beta(process.a, process.b, count), SMALLEST_DROPOUT_PROBABILITY, 1.0)
    purchases_before_dropout = rng.geometric(dropout)
    arrivals = rng.poisson(rate * observed_weeks)
    customer = np.repeat(np.arange(count, dtype=np.int64), arrivals)
    moments = rng.random(len(customer)) * observed_weeks[customer]
    by_customer_then_time = np.lexsort((moments, customer))
    customer = customer[by_customer_then_time]
    moments = moments[by_customer_then_time]
    made = positions_within_segments(arrivals) < purchases_before_dropout[customer]
    return RepeatPurchases(customer=customer[made], weeks_after_first=moments[made])


def draw_customer_spend_rates(
    rng: np.random.Generator, customers: int, model: OrderValueModel
) -> FloatArray:
    """ν of every customer: the rate of the gamma their order totals follow."""
    rates: FloatArray = rng.gamma(model.q, 1.0 / model.v, customers)
    return rates


def draw_order_totals(
    rng: np.random.Generator, spend_rates: FloatArray, model: OrderValueModel
) -> IntegerArray:
    """One order total (fen, at least 1) per entry of ``spend_rates`` (the customer's ν)."""
    totals = np.rint(rng.gamma(model.p, 1.0 / spend_rates)).astype(np.int64)
    clipped: IntegerArray = np.maximum(totals, 1)
    return clipped
