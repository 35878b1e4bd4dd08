"""Refresh the columnar extract: the operational rows added or changed since the last run,
appended as Parquet parts; a rerun with nothing new writes nothing.

High-water marks per table (see ``extract_tables.Growth``):

- APPEND tables (order items, events, touches): rows with an id above the highest extracted.
- VERSIONED tables: customers with an id above the highest or ``updated_at`` after the latest
  extracted (merges, OneID, layering do not touch it — see ``layers_writeback``); orders with
  an id above the highest or a status time (paid, completed, refunded, closed) after the
  latest extracted. A changed row is appended as a new version; the views read the newest.
- SNAPSHOT tables (channels, spend, stores, staff): read whole, written only if different.

Orders and events keep the customer id they had when extracted; the ``customer_roots`` table
(rewritten whenever customers change) maps every customer record to the live customer it was
merged into, so a merge after the extract still counts the orders once, on the survivor.
What the marks cannot see — an order re-pointed by an operator's unmerge, a status time
written in the past — a full refresh (``full=True``) picks up.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Date, DateTime, Integer, String, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from yutang.analytics.extract_store import (
    ExtractState,
    TableState,
    part_path,
    read_state,
    remove_uncommitted_parts,
    write_state,
)
from yutang.analytics.extract_tables import TABLES, AnySelect, ExtractTable, Growth
from yutang.kit.clock import utcnow

ROOTS = "customer_roots"
CHUNK_ROWS = 250_000
MAX_PARTS = 24
"""Above this many parts, a table is compacted into one (newest versions only)."""

Progress = Callable[[str, int, int], None]


def _silent(stage: str, done: int, total: int) -> None:
    """No progress reporting."""


@dataclass
class ExtractReport:
    rows_added: dict[str, int] = field(default_factory=dict)
    """Rows (or row versions) written per table by this refresh."""
    full: bool = False

    @property
    def total_added(self) -> int:
        return sum(self.rows_added.values())


def refresh_extract(
    connection: Connection,
    *,
    directory: Path,
    timezone: str,
    full: bool = False,
    progress: Progress = _silent,
) -> ExtractReport:
    """Bring the extract in ``directory`` up to date with the database behind ``connection``.

    Reads only. A changed time zone (the local days would differ) rebuilds in full.
    """
    state = read_state(directory)
    if full or state is None or state.timezone != timezone:
        if directory.exists():
            shutil.rmtree(directory)
        state = ExtractState(timezone=timezone)
        full = True
    remove_uncommitted_parts(directory, state)
    report = ExtractReport(full=full)
    customers_changed = False
    for table in TABLES:
        added = _refresh_table(connection, table, directory, state, progress)
        report.rows_added[table.name] = added
        customers_changed |= table.name == "customers" and added > 0
    if customers_changed or not state.table(ROOTS).files:
        _write_customer_roots(directory, state)
    state.refreshed_at = utcnow().isoformat()
    write_state(directory, state)
    return report


def _refresh_table(
    connection: Connection, table: ExtractTable, directory: Path, state: ExtractState,
    progress: Progress,
) -> int:
    table_state = state.table(table.name)
    if table.growth is Growth.SNAPSHOT:
        return _refresh_snapshot(connection, table, directory, table_state, state.timezone)
    statement = _new_rows(table, table_state)
    total = int(connection.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    progress(table.name, 0, total)
    added = 0
    previous_max = table_state.max_id
    if not table_state.files:
        table_state.unique_ids = True
    for frame in _frames(connection, table, statement, state.timezone):
        if previous_max is not None and frame.height and \
                int(str(frame.get_column("id").min())) <= previous_max:
            table_state.unique_ids = False  # a changed row: a second version of its id
        _write_part(directory, table, table_state, frame)
        added += frame.height
        progress(table.name, added, total)
        _advance_marks(table, table_state, frame)
    if not table_state.files:
        # An empty part keeps the table's columns known to the engines.
        _write_part(directory, table, table_state, _empty_frame(table, state.timezone))
    if len(table_state.files) > MAX_PARTS:
        _compact(directory, table, table_state)
    return added


def _new_rows(table: ExtractTable, table_state: TableState) -> AnySelect:
    assert table.id_column is not None
    statement = table.statement.order_by(table.id_column)
    if table_state.max_id is None:
        return statement
    conditions: list[ColumnElement[bool]] = [table.id_column > table_state.max_id]
    if table.growth is Growth.VERSIONED and table_state.changed_after is not None:
        after = datetime.fromisoformat(table_state.changed_after)
        watched = (table.changed_column,) if table.changed_column is not None \
            else table.change_times
        conditions.extend(column > after for column in watched)
    return statement.where(or_(*conditions))


def _advance_marks(table: ExtractTable, table_state: TableState, frame: pl.DataFrame) -> None:
    highest = frame.get_column("id").max()
    if highest is not None:
        table_state.max_id = max(int(str(highest)), table_state.max_id or 0)
    if table.growth is not Growth.VERSIONED:
        return
    watched = [table.changed_column] if table.changed_column is not None \
        else list(table.change_times)
    names = [_time_name(table, column.key) for column in watched if column is not None]
    latest = frame.select(pl.max_horizontal(
        pl.col(f"{name}_us").max() for name in names)).item()
    if latest is None:
        return
    moment = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(latest))
    if table_state.changed_after is None or moment > datetime.fromisoformat(
            table_state.changed_after):
        table_state.changed_after = moment.isoformat()


def _time_name(table: ExtractTable, source: str | None) -> str:
    return next(time.name for time in table.times if time.source == source)


def _frames(
    connection: Connection, table: ExtractTable, statement: AnySelect, timezone: str
) -> Iterator[pl.DataFrame]:
    schema = _schema(statement)
    result = connection.execute(
        statement.execution_options(stream_results=True, yield_per=CHUNK_ROWS))
    for rows in result.partitions(CHUNK_ROWS):
        frame = pl.DataFrame(rows, schema=schema, orient="row")
        yield _derive_times(frame, table, timezone)


def _schema(statement: AnySelect) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {}
    for column in statement.selected_columns:
        kind, name = column.type, str(column.key)
        if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
            schema[name] = pl.Datetime("us", "UTC")
        elif isinstance(kind, Date):
            schema[name] = pl.Date()
        elif isinstance(kind, Integer):
            schema[name] = pl.Int64()
        elif isinstance(kind, String):
            schema[name] = pl.String()
        else:
            schema[name] = pl.Boolean() if kind.python_type is bool else pl.String()
    return schema


def _derive_times(frame: pl.DataFrame, table: ExtractTable, timezone: str) -> pl.DataFrame:
    derived: list[pl.Expr] = []
    for time in table.times:
        moment = pl.col(time.source)
        local_day = moment.dt.convert_time_zone(timezone).dt.date()
        derived.append(moment.dt.epoch("s").alias(f"{time.name}_s"))
        derived.append(local_day.cast(pl.Int32).cast(pl.Int64).alias(f"{time.name}_day"))
        if time.month:
            derived.append(local_day.dt.truncate("1mo").alias(f"{time.name}_month"))
        if table.growth is Growth.VERSIONED:
            derived.append(moment.dt.epoch("us").alias(f"{time.name}_us"))
    return frame.with_columns(derived).drop([time.source for time in table.times])


def _empty_frame(table: ExtractTable, timezone: str) -> pl.DataFrame:
    return _derive_times(pl.DataFrame(schema=_schema(table.statement)), table, timezone)


def _write_part(directory: Path, table: ExtractTable, table_state: TableState,
                frame: pl.DataFrame) -> None:
    path, relative = part_path(directory, table.name, table_state.next_part)
    versioned = frame.with_columns(pl.lit(table_state.next_part, pl.Int64).alias("_part"))
    versioned.write_parquet(path, statistics=True)
    table_state.files.append(relative)
    table_state.next_part += 1
    table_state.rows += frame.height


def _compact(directory: Path, table: ExtractTable, table_state: TableState) -> None:
    """Rewrite the parts as one: for VERSIONED tables, the newest version of each row."""
    frame = pl.read_parquet([directory / relative for relative in table_state.files])
    if table.growth is Growth.VERSIONED:
        frame = frame.sort("_part").unique("id", keep="last").sort("id")
    old = list(table_state.files)
    table_state.files = []
    path, relative = part_path(directory, table.name, table_state.next_part)
    frame.write_parquet(path, statistics=True)
    table_state.files.append(relative)
    table_state.next_part += 1
    table_state.rows = frame.height
    table_state.unique_ids = True
    for relative in old:
        (directory / relative).unlink(missing_ok=True)


def _refresh_snapshot(
    connection: Connection, table: ExtractTable, directory: Path, table_state: TableState,
    timezone: str,
) -> int:
    rows = connection.execute(table.statement).all()
    frame = _derive_times(pl.DataFrame(rows, schema=_schema(table.statement), orient="row"),
                          table, timezone)
    if table_state.files:
        current = pl.read_parquet(directory / table_state.files[-1]).drop("_part")
        if current.equals(frame):
            return 0
    old = list(table_state.files)
    table_state.files, table_state.rows = [], 0
    _write_part(directory, table, table_state, frame)
    for relative in old:
        (directory / relative).unlink(missing_ok=True)
    return frame.height


def _write_customer_roots(directory: Path, state: ExtractState) -> None:
    """Every merged customer record → the live customer at the end of its chain of merges."""
    customers = state.table("customers")
    frame = (pl.read_parquet([directory / relative for relative in customers.files],
                             columns=["id", "merged_into_id", "_part"])
             .sort("_part").unique("id", keep="last").select("id", "merged_into_id"))
    roots = frame.select(pl.col("id"), pl.coalesce("merged_into_id", "id").alias("root_id"))
    for _ in range(64):
        following = roots.join(frame.rename({"id": "root_id", "merged_into_id": "next_id"}),
                               on="root_id", how="left")
        moved = following.filter(pl.col("next_id").is_not_null()
                                 & (pl.col("next_id") != pl.col("root_id")))
        if moved.height == 0:
            break
        roots = following.select(
            "id", pl.coalesce("next_id", "root_id").alias("root_id"))
    # Only merged records: a live customer is its own root (the views COALESCE), and a small
    # table keeps the join of every order and event to it cheap.
    roots = roots.filter(pl.col("id") != pl.col("root_id"))
    roots_state = state.table(ROOTS)
    old = list(roots_state.files)
    roots_state.files, roots_state.rows = [], 0
    path, relative = part_path(directory, ROOTS, roots_state.next_part)
    roots.sort("id").write_parquet(path, statistics=True)
    roots_state.files.append(relative)
    roots_state.next_part += 1
    roots_state.rows = roots.height
    for previous in old:
        (directory / previous).unlink(missing_ok=True)


def parquet_files(directory: Path, state: ExtractState) -> dict[str, list[Path]]:
    """The committed Parquet files of every table (and ``customer_roots``)."""
    return {name: [directory / relative for relative in table.files]
            for name, table in state.tables.items()}


__all__ = ["ROOTS", "ExtractReport", "parquet_files", "refresh_extract"]
