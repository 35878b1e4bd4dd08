"""lifetimes (0.11.3) as a test oracle: imported quietly, its CDNOW sample, and its fitters."""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
    from lifetimes.utils import summary_data_from_transaction_data

__all__ = [
    "BetaGeoFitter",
    "GammaGammaFitter",
    "cdnow_summary",
    "fit_bgnbd_tightly",
    "pd",
    "summary_data_from_transaction_data",
]


def cdnow_summary() -> Any:
    """The 2,357 CDNOW customers (weeks), with the mean of their repeat purchases."""
    return load_cdnow_summary_data_with_monetary_value()


def fit_bgnbd_tightly(frequency: Any, recency: Any, age: Any) -> Any:
    """lifetimes' BG/NBD at the tightest tolerance its BFGS reaches on these data.

    Its default (tol=1e-7) stops up to ~1e-6 (relative) short of the optimum; tighter, its
    BFGS can end in "precision loss", which lifetimes raises as ConvergenceError.
    """
    from lifetimes.utils import ConvergenceError

    for tolerance in (1e-9, 1e-8):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return BetaGeoFitter().fit(frequency, recency, age, tol=tolerance)
        except ConvergenceError:
            continue
    return BetaGeoFitter().fit(frequency, recency, age)
