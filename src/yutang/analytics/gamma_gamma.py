"""Gamma-Gamma spend model (Fader, Hardie and Lee 2005; Hardie's note 025).

A customer's purchase amounts are Gamma(shape p, rate ν) with ν ~ Gamma(shape q, rate v) across
customers; it is fitted on the mean amount m of each customer's x repeat purchases (x > 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import digamma, gammaln

from yutang.analytics.errors import ModelDidNotConverge, NoRepeatPurchases
from yutang.analytics.maximum_likelihood import (
    FloatArray,
    covariance_of_parameters,
    dot,
    maximise_likelihood,
)
from yutang.kit.errors import DomainError


@dataclass(frozen=True)
class GammaGammaParameters:
    p: float
    q: float
    v: float

    def as_array(self) -> FloatArray:
        return np.array([self.p, self.q, self.v], dtype=np.float64)


@dataclass(frozen=True)
class GammaGammaFit:
    parameters: GammaGammaParameters
    standard_errors: GammaGammaParameters
    covariance: FloatArray
    log_likelihood: float
    customers: int
    """Customers the model was fitted on: those with repeat purchases worth more than 0."""


@dataclass(frozen=True)
class _Spends:
    """Customers (x, m) with weights; sums that do not depend on the parameters, precomputed.

    The gamma functions depend on x alone, so they are evaluated once per distinct x; each
    customer then costs one logarithm per evaluation.
    """

    frequency: FloatArray
    mean_spend: FloatArray
    weight: FloatArray
    total_spend: FloatArray
    frequency_values: FloatArray
    weight_by_frequency: FloatArray
    weighted_x_log_m: float
    weighted_log_m: float
    weighted_x_log_x: float


def _spends(frequency: FloatArray, mean_spend: FloatArray, weights: FloatArray) -> _Spends:
    frequency_values = np.sort(pl.Series(frequency).unique().to_numpy())
    frequency_index = np.searchsorted(frequency_values, frequency)
    log_m = np.log(mean_spend)
    return _Spends(
        frequency=frequency, mean_spend=mean_spend, weight=weights,
        total_spend=frequency * mean_spend,
        frequency_values=np.asarray(frequency_values, dtype=np.float64),
        weight_by_frequency=np.bincount(frequency_index.reshape(-1), weights=weights,
                                        minlength=frequency_values.size).astype(np.float64),
        weighted_x_log_m=dot(weights * frequency, log_m),
        weighted_log_m=dot(weights, log_m),
        weighted_x_log_x=dot(weights * frequency, np.log(frequency)),
    )


def _negative_log_likelihood(theta: FloatArray, data: _Spends) -> tuple[float, FloatArray]:
    """Σ over customers of log f(m | x) (Hardie's note 025, eq. 1a) and its gradient."""
    p, q, v = np.exp(theta)
    xs, by_x = data.frequency_values, data.weight_by_frequency
    customers = float(by_x.sum())
    shape_values = p * xs
    per_x_value = gammaln(shape_values + q) - gammaln(shape_values)
    per_x_d_p = xs * (digamma(shape_values + q) - digamma(shape_values))
    per_x_d_q = digamma(shape_values + q)

    weight = data.weight
    rate = data.total_spend + v
    log_rate = np.log(rate)
    shape = p * data.frequency + q
    total = (dot(by_x, per_x_value) + customers * (q * np.log(v) - gammaln(q))
             + p * data.weighted_x_log_m - data.weighted_log_m + p * data.weighted_x_log_x
             - dot(weight * shape, log_rate))
    d_p = (dot(by_x, per_x_d_p) + data.weighted_x_log_m + data.weighted_x_log_x
           - dot(weight * data.frequency, log_rate))
    d_q = (dot(by_x, per_x_d_q) + customers * (np.log(v) - digamma(q))
           - dot(weight, log_rate))
    d_v = customers * q / v - dot(weight * shape, 1.0 / rate)
    gradient = np.array([p * d_p, q * d_q, v * d_v])
    return -float(total), -gradient


_WARM_START_CUSTOMERS = 100_000


def fit_gamma_gamma(
    frequency: npt.ArrayLike, monetary_value: npt.ArrayLike, *,
    weights: npt.ArrayLike | None = None,
) -> GammaGammaFit:
    """Fit on the customers with x > 0 and a positive mean spend; the others are skipped."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    weight = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    used = (x > 0) & (m > 0)
    customers = round(float(weight[used].sum()))
    if customers < 2:
        raise NoRepeatPurchases(
            f"{customers} customer(s) with repeat purchases: the spend model needs at least 2")
    # Fit with amounts scaled to a mean of 1 (v scales with them).
    scale = float(np.average(m[used], weights=weight[used]))
    data = _spends(x[used], m[used] / scale, weight[used])
    near_optimum = None
    if weights is None and customers > _WARM_START_CUSTOMERS:
        # Start near the optimum: fit every k-th customer first (cheap), then Newton on all.
        every = customers // (_WARM_START_CUSTOMERS // 2)
        try:
            warm = fit_gamma_gamma(x[used][::every], m[used][::every])
        except DomainError:
            pass  # the subsample alone is not enough: start from scratch
        else:
            warm_estimate = warm.parameters.as_array()
            warm_estimate[2] /= scale
            near_optimum = tuple(np.log(warm_estimate))
    found = maximise_likelihood(
        lambda theta: _negative_log_likelihood(theta, data),
        starts=[(0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (2.0, 1.0, 0.0)],
        near_optimum=near_optimum, model="Gamma-Gamma",
    )
    estimate = np.exp(found.log_parameters)
    estimate[2] *= scale
    covariance = covariance_of_parameters(estimate, found.hessian)
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    # Back to the data's money unit: each customer's density of m scales by 1/scale.
    log_likelihood = -found.negative_log_likelihood - customers * float(np.log(scale))
    if not np.isfinite(log_likelihood):
        raise ModelDidNotConverge("the Gamma-Gamma log-likelihood is not finite at the optimum")
    return GammaGammaFit(
        parameters=GammaGammaParameters(*(float(value) for value in estimate)),
        standard_errors=GammaGammaParameters(*(float(value) for value in errors)),
        covariance=covariance, log_likelihood=float(log_likelihood), customers=customers,
    )


def expected_average_spend(
    parameters: GammaGammaParameters, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike
) -> FloatArray:
    """E[mean spend per purchase | x, m]: a weighted mean of m and the population's mean.

    For customers without repeat purchases (x = 0) it is the population's mean v·p/(q - 1).
    """
    p, q, v = parameters.as_array()
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    own_weight = p * x / (p * x + q - 1.0)
    population_mean = v * p / (q - 1.0)
    return np.asarray((1.0 - own_weight) * population_mean + own_weight * m, dtype=np.float64)
