"""Gamma-Gamma spend model (Fader, Hardie and Lee 2005; Hardie's note 025).

A customer's purchase amounts are Gamma(shape p, rate ν) with ν ~ Gamma(shape q, rate v) across
customers; it is fitted on the mean amount m of each customer's x repeat purchases (x > 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import digamma, gammaln, polygamma

from yutang.analytics.clv_kernels import gamma_gamma_sums, sum_in_chunks, unpacked
from yutang.analytics.errors import ModelDidNotConverge, NoRepeatPurchases
from yutang.analytics.maximum_likelihood import (
    FloatArray,
    covariance_of_parameters,
    maximise_likelihood,
    on_log_parameters,
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
    """Customers (x, m) with their weights (none: 1 each); the distinct x with the number of
    customers who have each, and the sums that do not depend on the parameters.

    The gamma functions depend on x alone, so they are evaluated once per distinct x; each
    customer then costs one logarithm per evaluation (``clv_kernels.gamma_gamma_sums``).
    """

    frequency: FloatArray
    mean_spend: FloatArray
    weight: FloatArray
    frequency_values: FloatArray
    weight_by_frequency: FloatArray
    weighted_x_log_xm: float
    weighted_log_m: float


def _spends(frequency: FloatArray, mean_spend: FloatArray, weights: FloatArray | None) -> _Spends:
    weight = np.ones_like(frequency) if weights is None else weights
    by_frequency = (pl.DataFrame({"x": frequency, "weight": weight})
                    .group_by("x").agg(pl.col("weight").sum()))
    log_m = np.log(mean_spend)
    return _Spends(
        frequency=frequency, mean_spend=mean_spend,
        weight=np.zeros(0) if weights is None else weights,
        frequency_values=by_frequency.get_column("x").to_numpy().astype(np.float64),
        weight_by_frequency=by_frequency.get_column("weight").to_numpy().astype(np.float64),
        weighted_x_log_xm=float(np.dot(weight * frequency, log_m + np.log(frequency))),
        weighted_log_m=float(np.dot(weight, log_m)),
    )


def _negative_log_likelihood(
    theta: FloatArray, data: _Spends
) -> tuple[float, FloatArray, FloatArray]:
    """Σ over customers of log f(m | x) (Hardie's note 025, eq. 1a), its gradient and
    Hessian in log(p, q, v)."""
    parameters = np.exp(theta)
    p, q, v = parameters
    value, gradient, hessian = _terms_of_frequency(parameters, data)
    value += p * data.weighted_x_log_xm - data.weighted_log_m
    gradient[0] += data.weighted_x_log_xm
    rows = unpacked(sum_in_chunks(gamma_gamma_sums, data.frequency.size,
                                  (data.frequency, data.mean_spend, data.weight), p, q, v), 3)
    log_gradient, log_hessian = on_log_parameters(parameters, gradient + rows[1],
                                                  hessian + rows[2])
    return -(value + rows[0]), -log_gradient, -log_hessian


def _terms_of_frequency(
    parameters: FloatArray, data: _Spends
) -> tuple[float, FloatArray, FloatArray]:
    """Σ over customers of log Γ(p·x + q)/Γ(p·x) + q log v - log Γ(q), with derivatives in
    (p, q, v)."""
    p, q, v = parameters
    xs, count = data.frequency_values, data.weight_by_frequency
    customers = float(count.sum())
    shape, total_shape = p * xs, p * xs + q

    def weighted(values: FloatArray) -> float:
        return float(np.dot(count, values))

    value = (weighted(gammaln(total_shape) - gammaln(shape))
             + customers * (q * np.log(v) - gammaln(q)))
    gradient = np.array([
        weighted(xs * (digamma(total_shape) - digamma(shape))),
        weighted(digamma(total_shape)) + customers * (np.log(v) - digamma(q)),
        customers * q / v,
    ])
    trigamma_total = polygamma(1, total_shape)
    hessian = np.zeros((3, 3))
    hessian[0, 0] = weighted(xs * xs * (trigamma_total - polygamma(1, shape)))
    hessian[0, 1] = hessian[1, 0] = weighted(xs * trigamma_total)
    hessian[1, 1] = weighted(trigamma_total) - customers * polygamma(1, q)
    hessian[1, 2] = hessian[2, 1] = customers / v
    hessian[2, 2] = -customers * q / v**2
    return value, gradient, hessian


_WARM_START_CUSTOMERS = 100_000


def fit_gamma_gamma(
    frequency: npt.ArrayLike, monetary_value: npt.ArrayLike, *,
    weights: npt.ArrayLike | None = None,
) -> GammaGammaFit:
    """Fit on the customers with x > 0 and a positive mean spend; the others are skipped."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    used = (x > 0) & (m > 0)
    used_weight = None if weight is None else weight[used]
    customers = int(used.sum()) if used_weight is None else round(float(used_weight.sum()))
    if customers < 2:
        raise NoRepeatPurchases(
            f"{customers} customer(s) with repeat purchases: the spend model needs at least 2")
    # Fit with amounts scaled to a mean of 1 (v scales with them).
    used_x, used_m = x[used], m[used]
    scale = float(np.average(used_m, weights=used_weight))
    data = _spends(used_x, used_m / scale, used_weight)
    near_optimum = None
    if weights is None and customers > _WARM_START_CUSTOMERS:
        # Start near the optimum: fit every k-th customer first (cheap), then Newton on all.
        every = customers // (_WARM_START_CUSTOMERS // 2)
        try:
            warm = fit_gamma_gamma(used_x[::every], used_m[::every])
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
