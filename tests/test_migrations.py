"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from yutang.migrate import current_revision, ensure_schema, head_revision
from yutang.schema import metadata


def test_migrated_schema_matches_models(engine: Engine, database_url: str) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata())
    assert differences == []
    assert current_revision(engine) == head_revision(database_url)


def test_ensure_schema_migrates_an_empty_database_once(tmp_path: object) -> None:
    from pathlib import Path

    from yutang.kit.db import create_engine

    url = f"sqlite:///{Path(str(tmp_path)) / 'fresh.db'}"
    assert ensure_schema(url) is True
    assert ensure_schema(url) is False
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"customer", "identity", "customer_order", "audit_log", "store"} <= tables
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
