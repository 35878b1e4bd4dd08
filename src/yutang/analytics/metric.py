"""A metric: one SQL definition (DuckDB dialect, portable), its parameters and its keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from yutang.analytics.engines import MetricEngine
from yutang.analytics.portable_sql import Parameter


@dataclass(frozen=True)
class Metric:
    name: str
    sql: str
    keys: tuple[str, ...]
    """Columns that identify a row; results are sorted by them (nulls first)."""
    parameters: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    """Tables materialised by other metrics that this one reads (e.g. ``layers``)."""
    stages: tuple[tuple[str, str], ...] = ()
    """Intermediate tables (name, SQL) materialised first, in order: a plan read several
    times is computed once (Spark would otherwise inline and recompute it)."""

    def run(self, engine: MetricEngine, parameters: Mapping[str, Parameter]) -> pl.DataFrame:
        missing = [name for name in self.parameters if name not in parameters]
        if missing:
            raise KeyError(f"{self.name} needs the parameters {', '.join(missing)}")
        given = {name: parameters[name] for name in self.parameters}
        for stage, sql in self.stages:
            engine.materialize(stage, sql, given)
        frame = engine.query(self.sql, given)
        return frame.sort(list(self.keys), nulls_last=False) if self.keys else frame

    def read(self, engine: MetricEngine) -> pl.DataFrame:
        """The rows ``materialize`` kept on the engine (not computed a second time)."""
        frame = engine.query(f"SELECT * FROM {self.name}", {})  # noqa: S608 (our name)
        return frame.sort(list(self.keys), nulls_last=False) if self.keys else frame

    def materialize(self, engine: MetricEngine, parameters: Mapping[str, Parameter]) -> None:
        given = {name: parameters[name] for name in self.parameters}
        for stage, sql in self.stages:
            engine.materialize(stage, sql, given)
        engine.materialize(self.name, self.sql, given)
