"""A migrated database of a test's own, on either backend: for tests that run a server
process against it or need a database nobody else writes to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.postgres import create_database
from yutang.migrate import upgrade


def migrated_database(backend: str, folder: Path, name: str,
                      request: pytest.FixtureRequest) -> str:
    """A SQLite file ``name``.db in ``folder``, or the PostgreSQL database
    ``yutang_<name>_<xdist worker>`` on the session's server (dropped first if it exists),
    migrated to the newest schema; its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'{name}.db'}"
    else:
        base = str(request.getfixturevalue("postgres_base_url"))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        url = create_database(base, f"yutang_{name}_{worker}")
    upgrade(url)
    return url
