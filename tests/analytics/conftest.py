"""One Spark session for the whole test run (it takes seconds to start)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yutang.analytics.engines import SPARK_SMALL_DATA, SparkEngine


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Callable[[Path], SparkEngine]]:
    pytest.importorskip("pyspark")
    engines: list[SparkEngine] = []

    def open_spark(directory: Path) -> SparkEngine:
        engine = SparkEngine(directory, master="local[2]", config=SPARK_SMALL_DATA)
        engines.append(engine)
        return engine

    yield open_spark
    for engine in engines:
        engine.close()
