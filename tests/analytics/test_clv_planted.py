"""Planted truth: BG/NBD and Gamma-Gamma data simulated with known parameters (the demo's
simulator) are fitted back within two standard errors."""

from __future__ import annotations

import numpy as np

from yutang.analytics.clv_models import fit_beta_geo, fit_gamma_gamma
from yutang.demo.behaviour import PurchaseProcess, simulate_repeat_purchases

PLANTED = PurchaseProcess(r=0.25, alpha=4.0, a=0.8, b=2.4)
PLANTED_SPEND = {"p": 6.0, "q": 3.8, "v": 15.0}
CUSTOMERS = 50_000


def test_bgnbd_recovers_planted_parameters_within_two_standard_errors() -> None:
    rng = np.random.default_rng(2026)
    observed_weeks = rng.uniform(1.0, 78.0, CUSTOMERS)
    repeats = simulate_repeat_purchases(rng, observed_weeks, PLANTED)
    frequency = np.bincount(repeats.customer, minlength=CUSTOMERS)
    recency = np.zeros(CUSTOMERS)
    np.maximum.at(recency, repeats.customer, repeats.weeks_after_first)

    fit = fit_beta_geo(frequency, recency, observed_weeks)

    assert fit.customers == CUSTOMERS
    for name in ("r", "alpha", "a", "b"):
        estimate = getattr(fit.parameters, name)
        error = getattr(fit.standard_errors, name)
        planted = getattr(PLANTED, name)
        assert 0 < error < 0.2 * planted, name  # informative, not degenerate
        assert abs(estimate - planted) < 2 * error, (name, estimate, planted, error)


def test_gamma_gamma_recovers_planted_parameters_within_two_standard_errors() -> None:
    rng = np.random.default_rng(2027)
    frequency = rng.geometric(0.35, 20_000)  # repeat purchases, all > 0
    spend_rate = rng.gamma(PLANTED_SPEND["q"], 1.0 / PLANTED_SPEND["v"], frequency.size)
    # The sum of x Gamma(p, ν) amounts is Gamma(p·x, ν); the mean divides it by x.
    mean_spend = rng.gamma(PLANTED_SPEND["p"] * frequency, 1.0 / spend_rate) / frequency

    fit = fit_gamma_gamma(frequency, mean_spend)

    for name, planted in PLANTED_SPEND.items():
        estimate = getattr(fit.parameters, name)
        error = getattr(fit.standard_errors, name)
        assert 0 < error < 0.2 * planted, name
        assert abs(estimate - planted) < 2 * error, (name, estimate, planted, error)
