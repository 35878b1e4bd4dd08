"""The group-commit batcher: writes waiting together share a transaction and one commit;
a refusal is its item's answer while the others commit; a failure is answered to its own
item only; closing finishes what was submitted. On a real SQLite file."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from yutang.kit.db import create_engine, make_session_factory
from yutang.kit.errors import Conflict, DomainError
from yutang.kit.write_batches import WriteBatcher

Refused = Conflict  # a domain error of the kit: the catalogs' test lists every subclass

@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'batches.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (item TEXT PRIMARY KEY, batch INTEGER)"))
    yield engine
    engine.dispose()


class Recorder:
    """Writes one row per item (item → the number of its batch); refuses items starting
    with "no", fails the batch on "boom"; ``gate`` holds the first batch until set."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.started = threading.Event()

    def __call__(self, session: Session, items: Sequence[str]) -> list[str | DomainError]:
        self.started.set()
        self.gate.wait(timeout=30)
        self.batches.append(list(items))
        answers: list[str | DomainError] = []
        for item in items:
            if item.startswith("no"):
                answers.append(Refused(item))
                continue
            session.execute(text("INSERT INTO note VALUES (:item, :batch)"),
                            {"item": item, "batch": len(self.batches)})
            if item == "boom":
                raise RuntimeError("boom")
            answers.append(item.upper())
        return answers


def _notes(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {str(item): int(batch) for item, batch in
                connection.execute(text("SELECT item, batch FROM note"))}


def _batcher(engine: Engine, recorder: Recorder) -> WriteBatcher[str, str]:
    factory: sessionmaker[Session] = make_session_factory(engine)
    return WriteBatcher(lambda: factory, recorder, max_batch=3)


def test_writes_waiting_together_share_a_transaction(engine: Engine) -> None:
    recorder = Recorder()
    batcher = _batcher(engine, recorder)
    first = batcher.submit("a")
    assert recorder.started.wait(timeout=30)  # "a" holds the thread; the rest wait
    later = [batcher.submit(item) for item in ("b", "no-c", "d", "e")]
    recorder.gate.set()
    assert first.result(timeout=30) == "A"
    assert [future.exception(timeout=30) is None for future in later] == [
        True, False, True, True]
    refusal = later[1].exception()
    assert isinstance(refusal, Refused) and refusal.message == "no-c"
    assert [future.result() for future in (later[0], later[2], later[3])] == ["B", "D", "E"]
    batcher.close()
    assert recorder.batches == [["a"], ["b", "no-c", "d"], ["e"]]  # at most 3 a batch
    assert _notes(engine) == {"a": 1, "b": 2, "d": 2, "e": 3}


def test_a_failure_is_answered_to_its_own_item_only(engine: Engine) -> None:
    recorder = Recorder()
    batcher = _batcher(engine, recorder)
    blocker = batcher.submit("a")
    assert recorder.started.wait(timeout=30)
    together = [batcher.submit(item) for item in ("b", "boom", "c")]
    recorder.gate.set()
    assert blocker.result(timeout=30) == "A"
    assert together[0].result(timeout=30) == "B"
    assert together[2].result(timeout=30) == "C"
    failure = together[1].exception(timeout=30)
    assert isinstance(failure, RuntimeError) and str(failure) == "boom"
    batcher.close()
    # the failed batch was rolled back, then each item ran alone: "boom" wrote nothing
    assert recorder.batches == [["a"], ["b", "boom", "c"], ["b"], ["boom"], ["c"]]
    assert _notes(engine) == {"a": 1, "b": 3, "c": 5}


def test_closing_finishes_what_was_submitted(engine: Engine) -> None:
    recorder = Recorder()
    recorder.gate.set()
    batcher = _batcher(engine, recorder)
    futures = [batcher.submit(f"item-{number}") for number in range(7)]
    batcher.close()
    assert all(future.done() for future in futures)
    assert [future.result() for future in futures] == [f"ITEM-{number}" for number in range(7)]
    assert sorted(_notes(engine)) == sorted(f"item-{number}" for number in range(7))
    assert batcher.submit("again").result(timeout=30) == "AGAIN"  # starts anew on demand
    batcher.close()
