"""Settings derived from others: each database gets its own analytics folder by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from yutang.config import Settings


@pytest.mark.parametrize(("database_url", "expected"), [
    ("sqlite:///./yutang.db", Path("yutang-analytics")),
    ("sqlite:////srv/shop/demo.db", Path("/srv/shop/demo-analytics")),
    ("sqlite:///relative/dir/pool.sqlite3", Path("relative/dir/pool-analytics")),
    ("sqlite://", Path("yutang-analytics")),
    ("sqlite:///:memory:", Path("yutang-analytics")),
    ("postgresql://app@db.internal:5432/shop_a", Path("yutang-analytics-shop_a")),
    ("postgresql+psycopg://app@db.internal/shop_b", Path("yutang-analytics-shop_b")),
])
def test_the_analytics_folder_follows_the_database(database_url: str, expected: Path) -> None:
    assert Settings(database_url=database_url).analytics_directory() == expected


def test_two_databases_never_share_an_analytics_folder() -> None:
    first = Settings(database_url="sqlite:////data/a.db").analytics_directory()
    second = Settings(database_url="sqlite:////data/b.db").analytics_directory()
    assert first != second


def test_an_explicit_folder_wins(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite:////data/a.db", analytics_dir=tmp_path / "x")
    assert settings.analytics_directory() == tmp_path / "x"
