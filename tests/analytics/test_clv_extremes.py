"""Extreme customers stay finite: no repeat purchase, hundreds of purchases, P(alive) near 0."""

from __future__ import annotations

import numpy as np

from tests.analytics.lifetimes_oracle import BetaGeoFitter, pd
from yutang.analytics.bgnbd import (
    BetaGeoParameters,
    conditional_expected_purchases,
    probability_alive,
)
from yutang.analytics.clv_models import GammaGammaParameters, predict_customers

CDNOW = BetaGeoParameters(r=0.242593, alpha=4.413532, a=0.792886, b=2.425753)
SPEND = GammaGammaParameters(p=6.248802, q=3.744588, v=15.447748)

# x, t_x, T (weeks)
EXTREME = np.array([
    [0, 0.0, 0.0],        # bought once, today
    [0, 0.0, 500.0],      # bought once, long ago
    [300, 52.0, 52.0],    # 300 repeat purchases, the last one today
    [300, 1.0, 520.0],    # 300 purchases in the first week, silent for ten years
    [2000, 100.0, 100.0],
    [1, 0.001, 5000.0],
    [50, 50.0, 50.0],
])


def _oracle(parameters: BetaGeoParameters) -> BetaGeoFitter:
    fitter = BetaGeoFitter()
    fitter.params_ = pd.Series(parameters.as_array(), index=["r", "alpha", "a", "b"])
    return fitter


def test_predictions_are_finite_and_within_bounds() -> None:
    x, recency, age = EXTREME[:, 0], EXTREME[:, 1], EXTREME[:, 2]
    monetary = np.where(x > 0, 25.0, 0.0)
    alive, expected, value = predict_customers(
        CDNOW, SPEND, frequency=x, recency=recency, age=age, monetary_value=monetary,
        months=12, monthly_discount=0.01, periods_per_month=4.345, horizon=39)
    for array in (alive, expected, value):
        assert np.all(np.isfinite(array))
        assert np.all(array >= 0)
    assert np.all(alive <= 1)
    assert alive[0] == alive[1] == 1.0  # no repeat purchase: cannot have dropped out
    assert alive[3] < 1e-300 or alive[3] == 0.0  # P(alive) underflows to (near) 0, no NaN
    assert expected[3] < 1e-300 or expected[3] == 0.0
    assert expected[2] > 100  # an alive heavy buyer keeps buying
    assert value[4] > value[2] > value[0] > value[1]


def test_p_alive_near_zero_is_not_rounded_to_nan() -> None:
    alive = probability_alive(CDNOW, [300, 30], [1.0, 1.0], [520.0, 60.0])
    assert np.all(np.isfinite(alive))
    assert 0 < alive[1] < 1e-20
    assert alive[0] >= 0


def test_normal_customers_match_lifetimes_hypergeometric_form() -> None:
    """On ordinary values our quadrature equals lifetimes' hyp2f1 expression."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 40, 400)
    age = rng.uniform(1, 80, 400)
    recency = np.where(x > 0, age * rng.random(400), 0.0)
    oracle = _oracle(CDNOW)
    for horizon in (1.0, 39.0, 104.0):
        ours = conditional_expected_purchases(CDNOW, horizon, x, recency, age)
        theirs = np.asarray(oracle.conditional_expected_number_of_purchases_up_to_time(
            horizon, x, recency, age))
        assert np.max(np.abs(ours / theirs - 1)) < 1e-9
    other = BetaGeoParameters(r=2.5, alpha=12.0, a=3.0, b=9.0)
    ours = conditional_expected_purchases(other, 26.0, x, recency, age)
    theirs = np.asarray(_oracle(other).conditional_expected_number_of_purchases_up_to_time(
        26.0, x, recency, age))
    assert np.max(np.abs(ours / theirs - 1)) < 1e-9
