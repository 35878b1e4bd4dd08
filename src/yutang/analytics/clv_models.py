"""Customer lifetime value from BG/NBD (purchases) and Gamma-Gamma (spend).

CLV over M months with a monthly discount rate d, the way Fader, Hardie and Lee's iso-value
paper and lifetimes compute it: month k contributes the expected purchases between months k-1
and k times the expected spend per purchase, discounted by (1 + d)^k. A month is 30 days or
4.345 weeks (``periods_per_month``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from yutang.analytics.bgnbd import (
    BetaGeoFit,
    BetaGeoParameters,
    conditional_expected_purchases,
    fit_beta_geo,
    probability_alive,
    purchases_while_alive,
)
from yutang.analytics.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParameters,
    expected_average_spend,
    fit_gamma_gamma,
)
from yutang.analytics.maximum_likelihood import FloatArray

__all__ = [
    "BetaGeoFit",
    "BetaGeoParameters",
    "GammaGammaFit",
    "GammaGammaParameters",
    "conditional_expected_purchases",
    "customer_lifetime_value",
    "expected_average_spend",
    "fit_beta_geo",
    "fit_gamma_gamma",
    "predict_customers",
    "probability_alive",
]


def _discounted_monthly_purchases(
    purchases_while_alive: FloatArray, months: int, monthly_discount: float
) -> FloatArray:
    """Σ_k (E(k months) - E(k-1 months)) / (1 + d)^k from cumulative columns E(1..M months)."""
    cumulative = np.concatenate(
        [np.zeros((purchases_while_alive.shape[0], 1)), purchases_while_alive[:, :months]],
        axis=1,
    )
    discount = (1.0 + monthly_discount) ** -np.arange(1, months + 1, dtype=np.float64)
    return np.asarray((np.diff(cumulative, axis=1) * discount).sum(axis=1), dtype=np.float64)


def customer_lifetime_value(
    purchases: BetaGeoParameters, spend: GammaGammaParameters, *,
    frequency: npt.ArrayLike, recency: npt.ArrayLike, age: npt.ArrayLike,
    monetary_value: npt.ArrayLike, months: int, monthly_discount: float,
    periods_per_month: float,
) -> FloatArray:
    """Discounted expected spend over the next ``months`` months, per customer."""
    return predict_customers(
        purchases, spend, frequency=frequency, recency=recency, age=age,
        monetary_value=monetary_value, months=months, monthly_discount=monthly_discount,
        periods_per_month=periods_per_month, horizon=0.0,
    )[2]


def predict_customers(
    purchases: BetaGeoParameters, spend: GammaGammaParameters, *,
    frequency: npt.ArrayLike, recency: npt.ArrayLike, age: npt.ArrayLike,
    monetary_value: npt.ArrayLike, months: int, monthly_discount: float,
    periods_per_month: float, horizon: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(P(alive), expected purchases within ``horizon`` periods, CLV) in one pass."""
    x = np.asarray(frequency, dtype=np.int64)
    alive = probability_alive(purchases, x, recency, age)
    times = np.append(np.arange(1, months + 1, dtype=np.float64) * periods_per_month, horizon)
    while_alive = purchases_while_alive(purchases, times, x, age)
    # Per distinct (x, T) first, then one value per customer.
    horizon_purchases = while_alive.values[:, -1][while_alive.customer_index]
    discounted = _discounted_monthly_purchases(while_alive.values, months, monthly_discount)
    expected = alive * horizon_purchases
    average_spend = expected_average_spend(spend, x, monetary_value)
    value = alive * average_spend * discounted[while_alive.customer_index]
    return alive, np.asarray(expected, dtype=np.float64), np.asarray(value, dtype=np.float64)
