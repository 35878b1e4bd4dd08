"""Every metric runs on DuckDB and on Spark over the same extract, with identical results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.analytics.pool_data import AS_OF, build_pool
from yutang.analytics.engines import DuckDbEngine, SparkEngine
from yutang.analytics.extract import refresh_extract
from yutang.analytics.layering import LayeringPolicy, ScoreMethod
from yutang.analytics.metric_set import metric_set_parameters, run_metric_set
from yutang.analytics.metrics import METRICS
from yutang.kit.db import create_engine


@pytest.fixture
def extract_directory(sqlite_url: str, tmp_path: Path) -> Path:
    engine: Engine = create_engine(sqlite_url)
    directory = tmp_path / "extract"
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            build_pool(Session(bind=connection))
            refresh_extract(connection, directory=directory, timezone="Asia/Shanghai")
        finally:
            transaction.rollback()
    engine.dispose()
    return directory


@pytest.mark.slow
def test_duckdb_and_spark_give_identical_results(
    extract_directory: Path, spark_engine: Callable[[Path], SparkEngine]
) -> None:
    parameters = metric_set_parameters(as_of=AS_OF, policy=LayeringPolicy())
    thresholds = metric_set_parameters(
        as_of=AS_OF, policy=LayeringPolicy(method=ScoreMethod.THRESHOLD))
    duckdb = DuckDbEngine(extract_directory)
    try:
        on_duckdb = run_metric_set(duckdb, parameters)
        layers_by_threshold = run_metric_set(duckdb, thresholds)["layers"]
    finally:
        duckdb.close()
    spark = spark_engine(extract_directory)
    on_spark = run_metric_set(spark, parameters)

    assert set(on_duckdb) == {metric.name for metric in METRICS}
    for name, frame in on_duckdb.items():
        assert frame.height > 0, name
        assert_frame_equal(on_spark[name], frame, check_exact=True, check_column_order=True)
    assert not layers_by_threshold.equals(on_duckdb["layers"])  # the policy matters
    assert on_duckdb["funnel"].filter(pl.col("dimension") == "all").row(0)[3:] == (3, 2, 2, 2, 2)
