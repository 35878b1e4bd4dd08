"""CDNOW (the sample shipped with lifetimes): parameters, standard errors and every customer's
P(alive), expected purchases and CLV against lifetimes as the oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.analytics.lifetimes_oracle import BetaGeoFitter, GammaGammaFitter, cdnow_summary
from yutang.analytics.clv_models import (
    BetaGeoFit,
    GammaGammaFit,
    fit_beta_geo,
    fit_gamma_gamma,
    predict_customers,
)

# Published by Fader, Hardie and Lee (2005) for these data.
PUBLISHED_BGNBD = {"r": 0.2426, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LOG_LIKELIHOOD = -9582.4
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def data() -> Any:
    return cdnow_summary()


@pytest.fixture(scope="module")
def ours(data: Any) -> tuple[BetaGeoFit, GammaGammaFit]:
    repeat = data[data["frequency"] > 0]
    return (fit_beta_geo(data["frequency"], data["recency"], data["T"]),
            fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"]))


@pytest.fixture(scope="module")
def theirs(data: Any) -> tuple[Any, Any]:
    # lifetimes' BFGS stops early at its default tol=1e-7: r and b are then ~4e-7 (relative)
    # short of the optimum. At tol=1e-9 it lands within ~5e-9 of it (tighter, it gives up with
    # "precision loss"); our L-BFGS-B + Newton polish is at the optimum to ~1e-12 — both are
    # the same maximum, so compare to the tight fit. Its Gamma-Gamma fit is within ~4e-9 at
    # the default tolerance (and gives up at 1e-9).
    purchases = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"], tol=1e-9)
    repeat = data[data["frequency"] > 0]
    spend = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    return purchases, spend


def _relative(ours: float, theirs: float) -> float:
    return abs(ours / theirs - 1.0)


def test_bgnbd_parameters_equal_the_maximum_likelihood_of_lifetimes(
    ours: tuple[BetaGeoFit, GammaGammaFit], theirs: tuple[Any, Any]
) -> None:
    fit = ours[0]
    for name in ("r", "alpha", "a", "b"):
        value = getattr(fit.parameters, name)
        assert _relative(value, theirs[0].params_[name]) < 1e-5, name
        assert _relative(value, PUBLISHED_BGNBD[name]) < 5e-4, name
        assert _relative(getattr(fit.standard_errors, name),
                         theirs[0].standard_errors_[name]) < 1e-4, name
    assert fit.customers == 2357
    assert round(fit.log_likelihood, 1) == PUBLISHED_LOG_LIKELIHOOD


def test_bgnbd_lands_closer_to_the_optimum_than_lifetimes_default(data: Any) -> None:
    """At lifetimes' default tolerance its r is ~4e-7 off; the log-likelihood is the judge."""
    fit = fit_beta_geo(data["frequency"], data["recency"], data["T"])
    loose = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    ours_theta = np.log(fit.parameters.as_array())
    assert all(_relative(getattr(fit.parameters, name), loose.params_[name]) < 1e-5
               for name in ("r", "alpha", "a", "b"))
    # lifetimes' objective (mean negative log-likelihood on time scaled to max T = 1) at our
    # parameters is no worse than at its own.
    scale = 1.0 / data["T"].max()
    args = (data["frequency"].to_numpy(), data["recency"].to_numpy() * scale,
            data["T"].to_numpy() * scale, np.ones(len(data)), 0.0)
    ours_scaled = ours_theta.copy()
    ours_scaled[1] += np.log(scale)
    theirs_scaled = np.log(loose.params_.to_numpy())
    theirs_scaled[1] += np.log(scale)
    assert (BetaGeoFitter._negative_log_likelihood(ours_scaled, *args)
            <= BetaGeoFitter._negative_log_likelihood(theirs_scaled, *args))


def test_gamma_gamma_parameters_equal_the_maximum_likelihood_of_lifetimes(
    ours: tuple[BetaGeoFit, GammaGammaFit], theirs: tuple[Any, Any]
) -> None:
    fit = ours[1]
    for name in ("p", "q", "v"):
        value = getattr(fit.parameters, name)
        assert _relative(value, theirs[1].params_[name]) < 1e-5, name
        assert _relative(value, PUBLISHED_GAMMA_GAMMA[name]) < 2e-3, name
        assert _relative(getattr(fit.standard_errors, name),
                         theirs[1].standard_errors_[name]) < 1e-4, name
    assert fit.customers == 946


def test_every_customer_agrees_with_lifetimes(
    data: Any, ours: tuple[BetaGeoFit, GammaGammaFit], theirs: tuple[Any, Any]
) -> None:
    purchases, spend = theirs
    frequency, recency, age = data["frequency"], data["recency"], data["T"]
    alive, expected, value = predict_customers(
        ours[0].parameters, ours[1].parameters, frequency=frequency, recency=recency, age=age,
        monetary_value=data["monetary_value"], months=12, monthly_discount=0.01,
        periods_per_month=4.345, horizon=39,
    )
    their_alive = np.asarray(purchases.conditional_probability_alive(frequency, recency, age))
    their_expected = np.asarray(
        purchases.conditional_expected_number_of_purchases_up_to_time(39, frequency, recency, age))
    their_value = np.asarray(spend.customer_lifetime_value(
        purchases, frequency, recency, age, data["monetary_value"], time=12,
        discount_rate=0.01, freq="W"))
    assert alive.shape == expected.shape == value.shape == (2357,)
    for mine, other in ((alive, their_alive), (expected, their_expected), (value, their_value)):
        assert np.all(np.isfinite(mine))
        assert np.max(np.abs(mine / other - 1.0)) < 1e-6


def test_other_horizons_and_discounts_agree_with_lifetimes(
    data: Any, ours: tuple[BetaGeoFit, GammaGammaFit], theirs: tuple[Any, Any]
) -> None:
    purchases, spend = theirs
    frequency, recency, age = data["frequency"], data["recency"], data["T"]
    _, expected, value = predict_customers(
        ours[0].parameters, ours[1].parameters, frequency=frequency, recency=recency, age=age,
        monetary_value=data["monetary_value"], months=36, monthly_discount=0.03,
        periods_per_month=4.345, horizon=104,
    )
    their_expected = np.asarray(purchases.conditional_expected_number_of_purchases_up_to_time(
        104, frequency, recency, age))
    their_value = np.asarray(spend.customer_lifetime_value(
        purchases, frequency, recency, age, data["monetary_value"], time=36,
        discount_rate=0.03, freq="W"))
    assert np.max(np.abs(expected / their_expected - 1.0)) < 1e-6
    assert np.max(np.abs(value / their_value - 1.0)) < 1e-6
