"""The pymc-marketing side of ``bench_clv.py``, run by the interpreter of a virtualenv that has
pymc-marketing (it brings PyMC, PyTensor and a C toolchain, so it is kept out of yutang's
own environment):

    python -m venv .venv-pymc && .venv-pymc/bin/pip install pymc-marketing
    .venv/bin/python bench/bench_clv.py --pymc-python .venv-pymc/bin/python

End to end as for lifetimes: pandas ``read_csv``, ``rfm_summary`` (days, scaled to weeks),
``BetaGeoModel`` and ``GammaGammaModel`` (repeat customers) fitted by MAP with flat priors on
every parameter — so the MAP is the maximum-likelihood estimate and the parameters are
comparable — then P(alive), expected purchases in 39 weeks and the 12-month CLV at 1% a month.
A small file is run first, untimed, so PyTensor's compiled code is cached as it would be in a
long-lived process.

    python bench/clv_pymc_marketing.py TRANSACTIONS.csv WARM_UP.csv OUT.csv

Prints one JSON line: seconds, parameters; writes customer_id, p_alive, expected_purchases,
clv to OUT.csv.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd


def _prior(name: str) -> Any:
    try:
        from pymc_extras.prior import Prior
    except ImportError:  # older pymc-marketing ships it itself
        from pymc_marketing.prior import Prior
    return Prior(name)


def end_to_end(path: str) -> tuple[float, dict[str, float], pd.DataFrame]:
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
    from pymc_marketing.clv.utils import rfm_summary

    started = time.perf_counter()
    transactions = pd.read_csv(path, dtype={"customer_id": str})
    summary = rfm_summary(transactions, "customer_id", "date", monetary_value_col="amount",
                          time_unit="D", time_scaler=7)
    flat = {name: _prior("HalfFlat") for name in ("alpha", "r", "a", "b")}
    purchases = BetaGeoModel(data=summary[["customer_id", "frequency", "recency", "T"]],
                             model_config=flat)
    purchases.fit(method="map", progressbar=False)
    repeat = summary[summary["frequency"] > 0]
    spend = GammaGammaModel(data=repeat[["customer_id", "frequency", "monetary_value"]])
    spend.fit(method="map", progressbar=False)
    alive = purchases.expected_probability_alive(data=summary)
    expected = purchases.expected_purchases(data=summary, future_t=39)
    value = spend.expected_customer_lifetime_value(
        transaction_model=purchases, data=summary, future_t=12, discount_rate=0.01,
        time_unit="W")
    elapsed = time.perf_counter() - started
    # the fitted values themselves (``fit_summary`` rounds them to three decimals)
    parameters = {name: float(model.idata.posterior[name].values.ravel()[0])
                  for model, names in ((purchases, ("r", "alpha", "a", "b")),
                                       (spend, ("p", "q", "v")))
                  for name in names}
    table = pd.DataFrame({
        "customer_id": summary["customer_id"].to_numpy(),
        "p_alive": np.asarray(alive).ravel(),
        "expected_purchases": np.asarray(expected).ravel(),
        "clv": np.asarray(value).ravel(),
    })
    return elapsed, parameters, table


def main() -> None:
    warnings.simplefilter("ignore")
    path, warm_up, out = sys.argv[1:4]
    end_to_end(warm_up)
    seconds, parameters, table = end_to_end(path)
    table.to_csv(out, index=False)
    print(json.dumps({"seconds": seconds, "parameters": parameters}))


if __name__ == "__main__":
    main()
