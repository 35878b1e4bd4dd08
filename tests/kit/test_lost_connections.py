"""PostgreSQL: a pooled connection the server dropped (a restart, an idle timeout) is not
pinged before every transaction: one idle for a while is pinged on checkout and replaced;
one found dead by the work makes ``run_in_transaction`` run the work again on a fresh
connection."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.support.databases import migrated_database
from yutang.kit import db
from yutang.kit.db import create_engine, make_session_factory, run_in_transaction


def _terminate_others(url: str) -> int:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        return len(connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


def test_work_on_a_dropped_connection_runs_again_on_a_fresh_one(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = migrated_database("postgresql", tmp_path, "lost_connections", request)
    engine = create_engine(url)
    try:
        factory = make_session_factory(engine)
        backends: list[int] = []
        tries = []

        def work(session: Session) -> int:
            tries.append(1)
            backends.append(int(session.execute(text("SELECT pg_backend_pid()")).scalar_one()))
            return backends[-1]

        first = run_in_transaction(factory, work)
        assert _terminate_others(url) == 1  # the pooled connection's backend
        second = run_in_transaction(factory, work)
        assert backends == [first, second] and second != first
        assert len(tries) == 3  # the try on the dropped connection failed, then a fresh one
        assert engine.pool.checkedout() == 0
        assert run_in_transaction(factory, work) == second  # pooled again, alive
    finally:
        engine.dispose()


def test_a_connection_idle_in_the_pool_is_pinged_and_replaced_before_use(
        tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    url = migrated_database("postgresql", tmp_path, "idle_connections", request)
    engine = create_engine(url)
    try:
        factory = make_session_factory(engine)
        tries: list[int] = []

        def work(session: Session) -> int:
            tries.append(1)
            return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

        first = run_in_transaction(factory, work)
        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)  # every pooled connection is "idle"
        assert _terminate_others(url) == 1
        second = run_in_transaction(factory, work)
        assert second != first
        assert len(tries) == 2  # the dead connection was replaced at checkout: no failed try
    finally:
        engine.dispose()
