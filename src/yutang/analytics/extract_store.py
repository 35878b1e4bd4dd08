"""The extract on disk: Parquet parts per table and the high-water marks that say what is in.

``<directory>/_state.json`` names every committed part; a part not named there (left by a
crash between writing it and committing the state) is deleted on the next refresh, so a
rerun never counts a row twice. The state is replaced atomically (write, then rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from yutang.analytics.errors import ExtractMissing, ExtractUnreadable

STATE_FILE = "_state.json"
STATE_VERSION = 1


@dataclass
class TableState:
    files: list[str] = field(default_factory=list)
    """Part files relative to the extract directory, oldest first."""
    next_part: int = 1
    max_id: int | None = None
    """APPEND and VERSIONED: the highest id extracted."""
    changed_after: str | None = None
    """VERSIONED: the latest change time extracted (ISO 8601, UTC)."""
    rows: int = 0
    """Rows in the parts (versions of one row counted each)."""
    unique_ids: bool = False
    """VERSIONED: no id is in the parts twice (no changed row appended since the first
    refresh or the last compaction), so the engines need not pick the newest version. False
    when unknown (a state written before this was recorded)."""


@dataclass
class ExtractState:
    timezone: str
    tables: dict[str, TableState] = field(default_factory=dict)
    refreshed_at: str | None = None
    version: int = STATE_VERSION

    def table(self, name: str) -> TableState:
        return self.tables.setdefault(name, TableState())

    def files(self, directory: Path, name: str) -> list[Path]:
        return [directory / relative for relative in self.table(name).files]

    def unique_tables(self) -> frozenset[str]:
        return frozenset(name for name, table in self.tables.items() if table.unique_ids)


def read_state(directory: Path) -> ExtractState | None:
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version") != STATE_VERSION:
            return None
        tables = {name: TableState(**value) for name, value in raw["tables"].items()}
        return ExtractState(timezone=str(raw["timezone"]), tables=tables,
                            refreshed_at=raw.get("refreshed_at"))
    except (ValueError, KeyError, TypeError) as error:
        raise ExtractUnreadable(f"{path} is not an extract state file: {error}") from None


def require_state(directory: Path) -> ExtractState:
    state = read_state(directory)
    if state is None or not state.tables:
        raise ExtractMissing(
            f"no analytics extract in {directory}: run `yutang analytics refresh` first",
            directory=str(directory))
    return state


def write_state(directory: Path, state: ExtractState) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    temporary = path.with_suffix(".tmp")
    payload = {"version": state.version, "timezone": state.timezone,
               "refreshed_at": state.refreshed_at,
               "tables": {name: asdict(table) for name, table in state.tables.items()}}
    temporary.write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def remove_uncommitted_parts(directory: Path, state: ExtractState | None) -> None:
    """Delete Parquet files the state does not name (a crashed refresh's leftovers)."""
    if not directory.is_dir():
        return
    committed = {relative for table in (state.tables.values() if state else ())
                 for relative in table.files}
    for path in directory.glob("*/*.parquet"):
        if str(path.relative_to(directory)) not in committed:
            path.unlink()


def part_path(directory: Path, name: str, number: int) -> tuple[Path, str]:
    relative = f"{name}/part-{number:06d}.parquet"
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, relative
