"""Maximum likelihood on log-parameters: L-BFGS-B, a Newton polish, standard errors.

The models hand over their negative log-likelihood summed over customers and its analytical
gradient with respect to the logarithms of their (positive) parameters. L-BFGS-B gets close;
Newton steps on a Hessian taken by central differences of the analytical gradient then land
on the optimum to about machine precision, so two correct implementations agree to ~1e-10
rather than to the optimiser's tolerance. The same Hessian gives the standard errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from yutang.analytics.errors import ModelDidNotConverge

FloatArray = npt.NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]
"""log-parameters → (negative log-likelihood, its gradient), both summed over customers."""

LOG_PARAMETER_BOUND = 30.0
_NEWTON_STEPS = 10


@dataclass(frozen=True)
class MaximumLikelihood:
    log_parameters: FloatArray
    negative_log_likelihood: float
    hessian: FloatArray
    """Of the summed negative log-likelihood with respect to the log-parameters."""


def maximise_likelihood(
    objective: Objective, *, starts: Sequence[Sequence[float]], model: str,
    near_optimum: Sequence[float] | None = None,
) -> MaximumLikelihood:
    """The optimum reached from the first of the starting log-parameters that reaches one.

    ``near_optimum`` (say, the optimum on a subsample) is tried first with Newton steps
    alone, which is cheaper than L-BFGS-B when the likelihood is expensive.
    """
    best: MaximumLikelihood | None = None
    if near_optimum is not None:
        best = _newton_from(objective, np.asarray(near_optimum, dtype=np.float64))
    for start in starts:
        if best is not None:
            break
        best = _from_start(objective, np.asarray(start, dtype=np.float64))
    if best is None:
        raise ModelDidNotConverge(
            f"the {model} likelihood has no interior maximum on this data "
            "(parameters run off to 0 or infinity)"
        )
    return best


def _from_start(objective: Objective, start: FloatArray) -> MaximumLikelihood | None:
    value, gradient = objective(start)
    if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
        return None
    scale = max(abs(value), 1.0)

    def scaled(theta: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = objective(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return value / scale, gradient / scale

    bounds = [(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * start.size
    found = minimize(scaled, start, jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9})
    theta = np.asarray(found.x, dtype=np.float64)
    if np.any(np.abs(theta) > LOG_PARAMETER_BOUND - 1.0):
        return None
    hessian = numerical_hessian(objective, theta)
    if not np.all(np.isfinite(hessian)) or np.linalg.eigvalsh(hessian).min() <= 0:
        return None  # not a maximum
    theta, value, gradient = _newton_polish(objective, theta, hessian)
    if not np.isfinite(value) or np.max(np.abs(np.linalg.solve(hessian, gradient))) > 1e-6:
        return None
    return MaximumLikelihood(log_parameters=theta, negative_log_likelihood=float(value),
                             hessian=hessian)


def _newton_from(objective: Objective, start: FloatArray) -> MaximumLikelihood | None:
    theta = start
    for _ in range(3):
        hessian = numerical_hessian(objective, theta)
        if not np.all(np.isfinite(hessian)) or np.linalg.eigvalsh(hessian).min() <= 0:
            return None
        theta, value, gradient = _newton_polish(objective, theta, hessian)
        if not np.isfinite(value):
            return None
        if np.max(np.abs(np.linalg.solve(hessian, gradient))) < 1e-9:
            hessian = numerical_hessian(objective, theta)
            return MaximumLikelihood(log_parameters=theta,
                                     negative_log_likelihood=float(value), hessian=hessian)
    return None


def _newton_polish(
    objective: Objective, theta: FloatArray, hessian: FloatArray
) -> tuple[FloatArray, float, FloatArray]:
    """Newton steps with the Hessian of the starting point: from L-BFGS-B's answer a few steps
    reach the optimum to ~1e-12 in the log-parameters."""
    value, gradient = objective(theta)
    for _ in range(_NEWTON_STEPS):
        step = -np.linalg.solve(hessian, gradient)
        if np.max(np.abs(step)) < 1e-12:
            break
        candidate = theta + step
        candidate_value, candidate_gradient = objective(candidate)
        if not np.isfinite(candidate_value) or candidate_value > value + 1e-13 * abs(value):
            break
        theta, value, gradient = candidate, candidate_value, candidate_gradient
    return theta, value, gradient


def numerical_hessian(objective: Objective, theta: FloatArray) -> FloatArray:
    """Central differences of the analytical gradient, symmetrised."""
    size = theta.size
    hessian = np.empty((size, size))
    for index in range(size):
        step = 1e-5 * max(1.0, abs(theta[index]))
        forward, backward = theta.copy(), theta.copy()
        forward[index] += step
        backward[index] -= step
        hessian[index] = (objective(forward)[1] - objective(backward)[1]) / (2 * step)
    return (hessian + hessian.T) / 2


def dot(left: FloatArray, right: FloatArray) -> float:
    """Σ left·right without BLAS: its threads cost more than they save on one vector."""
    return float(np.multiply(left, right).sum())


def covariance_of_parameters(parameters: FloatArray, hessian: FloatArray) -> FloatArray:
    """Delta method: the inverse Hessian on log-parameters mapped to the parameters."""
    inverse = np.asarray(np.linalg.inv(hessian), dtype=np.float64)
    return np.asarray(inverse * np.outer(parameters, parameters), dtype=np.float64)
