"""A migrated database of a test's own, on either backend: for tests that run a server
process against it or need a database nobody else writes to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import TEST_DATA_KEY
from tests.support.postgres import create_database
from yutang.config import Settings
from yutang.kit.db import create_engine
from yutang.migrate import upgrade


def migrated_database(backend: str, folder: Path, name: str,
                      request: pytest.FixtureRequest) -> str:
    """A SQLite file ``name``.db in ``folder``, or the PostgreSQL database
    ``yutang_<name>_<xdist worker>`` on the session's server (dropped first if it exists),
    migrated to the newest schema; its URL."""
    if backend == "sqlite":
        url = _sqlite_file(folder, name)
    else:
        base = str(request.getfixturevalue("postgres_base_url"))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        url = create_database(base, f"yutang_{name}_{worker}")
    upgrade(url)
    return url


def served_sqlite(folder: Path, name: str) -> tuple[Settings, Engine]:
    """A migrated SQLite file ``name``.db in ``folder`` for a server process: the settings
    that serve it, and an engine to seed and check it with (the caller disposes of it)."""
    url = _sqlite_file(folder, name)
    upgrade(url)
    settings = Settings(database_url=url, data_key=TEST_DATA_KEY,
                        data_key_file=folder / "unused.key")
    return settings, create_engine(url)


def _sqlite_file(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / f'{name}.db'}"
