"""A migrated SQLite file that ``yutang`` commands run against (through the environment)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from yutang.config import get_settings
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.migrate import upgrade


def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                 data_key: str) -> Iterator[str]:
    """Yield the URL; afterwards the settings cache is cleared and the tests' key restored."""
    url = f"sqlite:///{tmp_path / name}"
    monkeypatch.setenv("YUTANG_DATABASE_URL", url)
    monkeypatch.setenv("YUTANG_DATA_KEY", data_key)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()
    from tests.conftest import TEST_DATA_KEY

    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(TEST_DATA_KEY)))
