"""``yutang analytics refresh``: the extract brought up to date, layers computed on the
engine and written back."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.analytics.engines import open_engine
from yutang.analytics.errors import RefreshInProgress
from yutang.analytics.extract import ExtractReport, Progress, refresh_extract
from yutang.analytics.layering import LayeringPolicy, compute_layers
from yutang.analytics.layers_writeback import write_back_layers


@dataclass(frozen=True)
class EngineChoice:
    name: str
    """duckdb or spark."""
    spark_master: str = "local[2]"


@dataclass(frozen=True)
class RefreshResult:
    extract: ExtractReport
    as_of: date
    customers_layered: int
    layers_changed: int
    engine: str


@contextmanager
def exclusive_refresh(directory: Path) -> Iterator[None]:
    """One refresh of an extract at a time, across threads and processes (a lock file next
    to the extract directory, which a full refresh deletes and writes again)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    lock_path = directory.with_name(directory.name + ".lock")
    with lock_path.open("a") as lock_file:
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshInProgress(
                f"another refresh of {directory} is running", directory=str(directory)
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def refresh_analytics(
    session: Session,
    *,
    actor: Principal,
    directory: Path,
    timezone: str,
    engine: EngineChoice,
    policy: LayeringPolicy,
    as_of: date,
    full: bool = False,
    progress: Progress | None = None,
) -> RefreshResult:
    with exclusive_refresh(directory):
        report = refresh_extract(session.connection(), directory=directory,
                                 timezone=timezone, full=full,
                                 **({"progress": progress} if progress else {}))
        if progress:
            progress("layers", 0, 1)
        metric_engine = open_engine(engine.name, directory, spark_master=engine.spark_master)
        try:
            layers = compute_layers(metric_engine, policy=policy, as_of=as_of)
        finally:
            metric_engine.close()
    changed = write_back_layers(session, actor=actor, layers=layers, as_of=as_of)
    if progress:
        progress("layers", 1, 1)
    return RefreshResult(extract=report, as_of=as_of, customers_layered=layers.height,
                         layers_changed=changed, engine=engine.name)
