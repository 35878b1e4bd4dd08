"""The engines the metrics run on: DuckDB embedded (default) and Apache Spark.

Both read the same Parquet extract, define the same base views (``base_views``) and run the
same metric SQL (``portable_sql``); results come back as Polars frames with integers as
Int64, so that one engine's answer can be compared with the other's value for value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from yutang.analytics.base_views import RAW_TABLES, views
from yutang.analytics.errors import EngineUnavailable
from yutang.analytics.extract_store import require_state
from yutang.analytics.portable_sql import Parameter, render

DUCKDB = "duckdb"
SPARK = "spark"
ENGINES = (DUCKDB, SPARK)


class MetricEngine(Protocol):
    name: str

    def query(self, sql: str, parameters: Mapping[str, Parameter]) -> pl.DataFrame:
        """The rows of ``sql`` (DuckDB dialect, ``:name`` parameters)."""

    def materialize(self, name: str, sql: str, parameters: Mapping[str, Parameter]) -> None:
        """Keep the rows of ``sql`` as a table ``name`` that later SQL can read."""

    def close(self) -> None: ...


def normalized(frame: pl.DataFrame) -> pl.DataFrame:
    """Every integer column as Int64: engines differ only in integer widths."""
    return frame.with_columns(
        pl.col(name).cast(pl.Int64) for name, dtype in frame.schema.items()
        if dtype.is_integer() and dtype != pl.Int64
    )


def _files(directory: Path) -> tuple[dict[str, list[Path]], frozenset[str]]:
    """The Parquet files of every raw table, and the versioned tables whose ids are unique."""
    state = require_state(directory)
    return ({name: state.files(directory, name) for name in RAW_TABLES},
            state.unique_tables())


class DuckDbEngine:
    name = DUCKDB

    def __init__(self, directory: Path, *, threads: int | None = None) -> None:
        import duckdb

        self._connection = duckdb.connect(":memory:")
        if threads is not None:
            self._connection.execute(f"SET threads = {int(threads)}")
        files, unique = _files(directory)
        for table, paths in files.items():
            listed = ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths)
            self._connection.execute(
                f"CREATE VIEW raw_{table} AS SELECT * FROM read_parquet([{listed}])")
        for view, sql in views(unique):
            self._connection.execute(f"CREATE VIEW {view} AS {render(sql, {}, DUCKDB)}")

    def query(self, sql: str, parameters: Mapping[str, Parameter]) -> pl.DataFrame:
        table = self._connection.sql(render(sql, parameters, DUCKDB)).to_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return normalized(frame)

    def materialize(self, name: str, sql: str, parameters: Mapping[str, Parameter]) -> None:
        self._connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS {render(sql, parameters, DUCKDB)}")

    def close(self) -> None:
        self._connection.close()


SPARK_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "2g",
}
SPARK_SMALL_DATA = {"spark.sql.shuffle.partitions": "1", "spark.sql.codegen.wholeStage": "false",
                    "spark.sql.adaptive.enabled": "false"}
"""For tests and tiny extracts: fewer tasks and jobs, no code generation (each costs more
than it saves on a few rows)."""

_SPARK_TYPES = {pl.Int64: "BIGINT", pl.Int32: "INT", pl.String: "STRING", pl.Date: "DATE",
                pl.Float64: "DOUBLE", pl.Boolean: "BOOLEAN"}


def _spark_schema(path: Path) -> str:
    """The DDL schema of a Parquet file, read from its footer here (Spark would run a job)."""
    schema = pl.read_parquet_schema(path)
    return ", ".join(f"`{name}` {_SPARK_TYPES[dtype.base_type()]}"
                     for name, dtype in schema.items())


def spark_session(master: str, config: Mapping[str, str] | None = None) -> Any:
    """The process's one Spark session (local mode by default), started on first use."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable(
            "the Spark engine needs pyspark: pip install 'yutang[spark]'") from None
    try:
        builder = SparkSession.builder.master(master).appName("yutang-analytics")
        for key, value in {**SPARK_DEFAULTS, **(config or {})}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
    except Exception as error:  # Java missing or the master unreachable
        raise EngineUnavailable(f"Spark did not start: {str(error).splitlines()[0]}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


CACHED_VIEWS = frozenset({"customers", "orders", "events"})
"""Spark reads these often and would recompute their joins and windows every time."""


class SparkEngine:
    name = SPARK

    def __init__(self, directory: Path, *, master: str = "local[2]",
                 config: Mapping[str, str] | None = None) -> None:
        self._session = spark_session(master, config)
        self._cached: list[Any] = []
        files, unique = _files(directory)
        for table, paths in files.items():
            self._session.read.schema(_spark_schema(paths[-1])) \
                .parquet(*[str(path) for path in paths]).createOrReplaceTempView(f"raw_{table}")
        for view, sql in views(unique):
            frame = self._session.sql(render(sql, {}, SPARK))
            if view in CACHED_VIEWS:
                frame = frame.cache()
                self._cached.append(frame)
            frame.createOrReplaceTempView(view)

    def query(self, sql: str, parameters: Mapping[str, Parameter]) -> pl.DataFrame:
        table = self._session.sql(render(sql, parameters, SPARK)).toArrow()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return normalized(frame)

    def materialize(self, name: str, sql: str, parameters: Mapping[str, Parameter]) -> None:
        frame = self._session.sql(render(sql, parameters, SPARK)).cache()
        frame.count()  # computed once, here, not by the first reader
        frame.createOrReplaceTempView(name)
        self._cached.append(frame)

    def close(self) -> None:
        """The session stays up for the process; only this engine's caches go."""
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()


def open_engine(name: str, directory: Path, *, spark_master: str = "local[2]") -> MetricEngine:
    if name == SPARK:
        return SparkEngine(directory, master=spark_master)
    if name == DUCKDB:
        return DuckDbEngine(directory)
    raise EngineUnavailable(f"no analytics engine {name!r} (duckdb or spark)")
