"""Signals reach their handlers after commit only, and a failing handler undoes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.kit.signals import emit_after_commit, subscribe, unsubscribe


@pytest.fixture()
def factory(tmp_path: Any) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'signals.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (body TEXT)"))
    yield make_session_factory(engine)
    engine.dispose()


def test_handlers_run_after_commit_in_their_own_transaction(
    factory: sessionmaker[Session],
) -> None:
    seen: list[tuple[Any, int]] = []

    def handler(handler_factory: sessionmaker[Session], payload: Any) -> None:
        with unit_of_work(handler_factory) as session:
            count = session.execute(text("SELECT count(*) FROM note")).scalar_one()
        seen.append((payload, count))

    subscribe("test.noted", handler)
    try:
        with unit_of_work(factory) as session:
            session.execute(text("INSERT INTO note VALUES ('a')"))
            emit_after_commit(session, "test.noted", [1, 2])
            assert seen == []  # not before the commit
        assert seen == [([1, 2], 1)]  # the handler sees the committed row
    finally:
        unsubscribe("test.noted", handler)


def test_a_rolled_back_transaction_announces_nothing(factory: sessionmaker[Session]) -> None:
    seen: list[Any] = []

    def recording(_: sessionmaker[Session], payload: Any) -> None:
        seen.append(payload)

    subscribe("test.noted", recording)
    try:
        with pytest.raises(RuntimeError), unit_of_work(factory) as session:
            session.execute(text("INSERT INTO note VALUES ('b')"))
            emit_after_commit(session, "test.noted", "lost")
            raise RuntimeError("boom")
        with unit_of_work(factory) as session:
            session.execute(text("INSERT INTO note VALUES ('c')"))
        assert seen == []
    finally:
        unsubscribe("test.noted", recording)


def test_a_failing_handler_neither_undoes_the_commit_nor_stops_the_others(
    factory: sessionmaker[Session],
) -> None:
    seen: list[Any] = []

    def failing(_: sessionmaker[Session], __: Any) -> None:
        raise ValueError("reaction broke")

    def recording(_: sessionmaker[Session], payload: Any) -> None:
        seen.append(payload)

    subscribe("test.noted", failing)
    subscribe("test.noted", recording)
    try:
        with unit_of_work(factory) as session:
            session.execute(text("INSERT INTO note VALUES ('d')"))
            emit_after_commit(session, "test.noted", 7)
        with unit_of_work(factory) as session:
            assert session.execute(text("SELECT body FROM note")).scalars().all() == ["d"]
        assert seen == [7]
    finally:
        unsubscribe("test.noted", failing)
        unsubscribe("test.noted", recording)


def test_payloads_of_one_transaction_add_up_to_one_call_per_signal(
    factory: sessionmaker[Session],
) -> None:
    seen: list[tuple[str, Any]] = []

    def first(_: sessionmaker[Session], payload: Any) -> None:
        seen.append(("first", payload))

    def second(_: sessionmaker[Session], payload: Any) -> None:
        seen.append(("second", payload))

    subscribe("test.noted", first)
    subscribe("test.other", second)
    try:
        with unit_of_work(factory) as session:
            emit_after_commit(session, "test.noted", [1, 2])
            emit_after_commit(session, "test.other", [9])
            emit_after_commit(session, "test.noted", [3])
        assert seen == [("first", [1, 2, 3]), ("second", [9])]
        seen.clear()
        with unit_of_work(factory) as session:  # the next transaction starts afresh
            emit_after_commit(session, "test.noted", [4])
        assert seen == [("first", [4])]
    finally:
        unsubscribe("test.noted", first)
        unsubscribe("test.other", second)
