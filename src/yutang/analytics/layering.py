"""Layering policy: how RFM scores, value tiers and lifecycle stages are cut (configurable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise

import polars as pl

from yutang.analytics.engines import MetricEngine
from yutang.analytics.errors import BadLayeringPolicy
from yutang.analytics.layering_sql import CUSTOMER_LAYERS, LAYER_MIX
from yutang.analytics.periods import as_of_parameters
from yutang.analytics.portable_sql import Parameter


class ScoreMethod(StrEnum):
    QUANTILE = "quantile"
    THRESHOLD = "threshold"


def _ordered(values: tuple[int, ...], what: str, *, ascending: bool) -> None:
    pairs = list(pairwise(values))
    if any((later <= earlier) if ascending else (later >= earlier) for earlier, later in pairs):
        order = "ascending" if ascending else "descending"
        raise BadLayeringPolicy(f"{what} must be strictly {order}: {list(values)}")


@dataclass(frozen=True)
class LayeringPolicy:
    method: ScoreMethod = ScoreMethod.QUANTILE
    recency_days: tuple[int, int, int, int] = (30, 60, 120, 240)
    frequency: tuple[int, int, int, int] = (8, 5, 3, 2)
    monetary_fen: tuple[int, int, int, int] = (200_000, 100_000, 50_000, 20_000)
    value_tier_scores: tuple[int, int, int] = (13, 10, 7)
    new_days: int = 30
    active_days: int = 90
    lost_days: int = 180

    def __post_init__(self) -> None:
        _ordered(self.recency_days, "recency thresholds", ascending=True)
        _ordered(self.frequency, "frequency thresholds", ascending=False)
        _ordered(self.monetary_fen, "monetary thresholds", ascending=False)
        _ordered(self.value_tier_scores, "value tier scores", ascending=False)
        if not 0 < self.active_days < self.lost_days or self.new_days <= 0:
            raise BadLayeringPolicy(
                "lifecycle days: need 0 < new days and 0 < active days < lost days")

    @classmethod
    def of(cls, *, method: str, recency_days: list[int], frequency: list[int],
           monetary_fen: list[int], value_tier_scores: list[int], new_days: int,
           active_days: int, lost_days: int) -> LayeringPolicy:
        try:
            score_method = ScoreMethod(method)
        except ValueError:
            raise BadLayeringPolicy(f"RFM method {method!r}: quantile or threshold") from None
        return cls(method=score_method, recency_days=_four(recency_days, "recency"),
                   frequency=_four(frequency, "frequency"),
                   monetary_fen=_four(monetary_fen, "monetary"),
                   value_tier_scores=_three(value_tier_scores), new_days=new_days,
                   active_days=active_days, lost_days=lost_days)

    def parameters(self, as_of: date) -> dict[str, Parameter]:
        recency, frequency, monetary = self.recency_days, self.frequency, self.monetary_fen
        values: dict[str, Parameter] = {
            **as_of_parameters(as_of),
            "quantile": 1 if self.method is ScoreMethod.QUANTILE else 0,
            "tier_vip": self.value_tier_scores[0], "tier_high": self.value_tier_scores[1],
            "tier_medium": self.value_tier_scores[2], "new_days": self.new_days,
            "active_days": self.active_days, "lost_days": self.lost_days,
        }
        for score, index in zip((5, 4, 3, 2), range(4), strict=True):
            values[f"recency_{score}"] = recency[index]
            values[f"frequency_{score}"] = frequency[index]
            values[f"monetary_{score}"] = monetary[index]
        return values


def _four(values: list[int], what: str) -> tuple[int, int, int, int]:
    if len(values) != 4:
        raise BadLayeringPolicy(f"{what} thresholds: give 4 (for scores 5, 4, 3, 2)")
    return values[0], values[1], values[2], values[3]


def _three(values: list[int]) -> tuple[int, int, int]:
    if len(values) != 3:
        raise BadLayeringPolicy("value tier scores: give 3 (vip, high, medium)")
    return values[0], values[1], values[2]


def compute_layers(engine: MetricEngine, *, policy: LayeringPolicy, as_of: date) -> pl.DataFrame:
    """One row per live customer acquired before ``as_of``; kept on the engine as ``layers``
    for ``layer_mix``."""
    parameters = policy.parameters(as_of)
    CUSTOMER_LAYERS.materialize(engine, parameters)
    return CUSTOMER_LAYERS.read(engine)


def layer_mix(engine: MetricEngine) -> pl.DataFrame:
    """Customers per value tier and lifecycle stage, by store, by channel and in all; reads
    the ``layers`` that ``compute_layers`` left on the engine."""
    return LAYER_MIX.run(engine, {})
