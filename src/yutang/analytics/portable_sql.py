"""Metric SQL written once, in DuckDB's dialect, kept portable by sqlglot (ADR 0006).

Parameters are written ``:name`` and bound as literals in the parsed tree (never by string
formatting); sqlglot then writes the tree in the engine's dialect. House rules for metric SQL
(they keep both engines exactly equal): money in integer fen, ``CAST(SUM(x) AS BIGINT)``;
ratios as ``CAST(a AS DOUBLE) / NULLIF(b, 0)`` of exact integers (no AVG of doubles, no
decimal literals); no time zone functions (the extract carries local days and months); ties
in ranks broken by ids; no ordering that the runner does not do again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "duckdb"
Parameter = int | float | str | date | bool | None


def _literal(value: Parameter) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        return exp.cast(exp.Literal.number(repr(value)), exp.DataType.Type.DOUBLE)
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    return exp.Literal.string(value)


@lru_cache(maxsize=256)
def _parse(sql: str) -> exp.Expression:
    parsed = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    assert isinstance(parsed, exp.Expression)
    return parsed


def render(sql: str, parameters: Mapping[str, Parameter], dialect: str) -> str:
    """``sql`` with its ``:name`` parameters bound, in ``dialect`` (duckdb or spark)."""
    missing: list[str] = []

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in parameters:
                missing.append(node.name)
                return node
            return _literal(parameters[node.name])
        return node

    bound = _parse(sql).copy().transform(bind)
    if missing:
        raise KeyError(f"metric SQL parameters not given: {', '.join(sorted(set(missing)))}")
    return bound.sql(dialect=dialect)
