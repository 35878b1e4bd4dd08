"""Maximum likelihood on log-parameters: Newton with the analytical Hessian, standard errors.

The models hand over their negative log-likelihood summed over customers with its analytical
gradient and Hessian with respect to the logarithms of their (positive) parameters. From a
point near the optimum (say, the optimum on a subsample) Newton steps alone converge
quadratically; from farther away L-BFGS-B gets close first. Newton lands on the optimum to
about machine precision, so two correct implementations agree to ~1e-10 rather than to an
optimiser's tolerance. The Hessian at the optimum gives the standard errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from yutang.analytics.errors import ModelDidNotConverge

FloatArray = npt.NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]
"""log-parameters → (negative log-likelihood, its gradient, its Hessian), summed over
customers."""

LOG_PARAMETER_BOUND = 30.0
_NEWTON_STEPS = 30
_HALVINGS = 40
_CONVERGED_STEP = 1e-6
"""Newton converges quadratically: after a step this small the error is ~1e-12."""
_ROUNDING = 1e-13
"""Relative noise in a likelihood summed over many customers."""


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
    value, gradient, _ = objective(start)
    if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
        return None
    scale = max(abs(value), 1.0)

    def scaled(theta: FloatArray) -> tuple[float, FloatArray]:
        value, gradient, _ = objective(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return value / scale, gradient / scale

    bounds = [(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * start.size
    found = minimize(scaled, start, jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 2000, "ftol": 1e-10, "gtol": 1e-5})
    theta = np.asarray(found.x, dtype=np.float64)
    if np.any(np.abs(theta) > LOG_PARAMETER_BOUND - 1.0):
        return None
    return _newton_from(objective, theta)


def _newton_from(objective: Objective, start: FloatArray) -> MaximumLikelihood | None:
    """Newton steps, halved until they make progress; ``None`` where the Hessian is not
    positive definite (not near a maximum) or the steps stall."""
    theta = start
    value, gradient, hessian = objective(theta)
    step = _newton_step(value, gradient, hessian)
    for _ in range(_NEWTON_STEPS):
        if step is None:
            return None
        if np.max(np.abs(step)) < _CONVERGED_STEP:
            # Quadratic convergence: this last step lands within ~1e-12; take it unchecked.
            return MaximumLikelihood(log_parameters=theta + step,
                                     negative_log_likelihood=value, hessian=hessian)
        moved = _descend(objective, theta, value, gradient, step)
        if moved is None:
            return None
        theta, value, gradient, hessian, step = moved
    return None


def _newton_step(value: float, gradient: FloatArray, hessian: FloatArray) -> FloatArray | None:
    finite = (np.isfinite(value) and np.all(np.isfinite(gradient))
              and np.all(np.isfinite(hessian)))
    if not finite or np.linalg.eigvalsh(hessian).min() <= 0:
        return None
    return np.asarray(-np.linalg.solve(hessian, gradient), dtype=np.float64)


_Moved = tuple[FloatArray, float, FloatArray, FloatArray, FloatArray | None]


def _descend(objective: Objective, theta: FloatArray, value: float, gradient: FloatArray,
             step: FloatArray) -> _Moved | None:
    """The first of step, step/2, step/4, … that lowers the negative log-likelihood, or,
    near the optimum where rounding hides its changes, lowers the Newton decrement."""
    decrement = -float(np.dot(gradient, step))
    for _ in range(_HALVINGS):
        candidate = theta + step
        candidate_value, candidate_gradient, candidate_hessian = objective(candidate)
        next_step = _newton_step(candidate_value, candidate_gradient, candidate_hessian)
        lower = candidate_value <= value + _ROUNDING * abs(value)
        closer = next_step is not None and -np.dot(candidate_gradient, next_step) < decrement
        if np.all(np.abs(candidate) < LOG_PARAMETER_BOUND) and np.isfinite(candidate_value) \
                and (lower or closer):
            return candidate, candidate_value, candidate_gradient, candidate_hessian, next_step
        step = step / 2
    return None


def on_log_parameters(
    parameters: FloatArray, gradient: FloatArray, hessian: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Gradient and Hessian in the parameters → in their logarithms (chain rule)."""
    log_gradient = parameters * gradient
    log_hessian = hessian * np.outer(parameters, parameters) + np.diag(log_gradient)
    return log_gradient, (log_hessian + log_hessian.T) / 2


def covariance_of_parameters(parameters: FloatArray, hessian: FloatArray) -> FloatArray:
    """Delta method: the inverse Hessian on log-parameters mapped to the parameters."""
    inverse = np.asarray(np.linalg.inv(hessian), dtype=np.float64)
    return np.asarray(inverse * np.outer(parameters, parameters), dtype=np.float64)
