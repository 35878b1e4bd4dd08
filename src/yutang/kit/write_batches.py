"""Group commit for hot write endpoints: the writes waiting at one moment share a transaction.

Under load, a write endpoint's requests each pay for a transaction of their own — on
PostgreSQL a ``BEGIN`` and a ``COMMIT`` round trip besides the statements, on SQLite a turn of
the single writer — and their threads take turns on the interpreter lock around every round
trip. A ``WriteBatcher`` runs the writes on one thread of its own instead: it takes every
write waiting (up to ``max_batch``) and hands them to ``process`` in one writer transaction,
which commits once; the requests are answered after that commit, so an acknowledged write is
a committed one. ``process`` can do the batch's work in a few set-based statements instead of
a few statements per write. With nothing else waiting a write runs alone, at once: no delay
is added to wait for company.

``process(session, items)`` answers each item with its result or with the ``DomainError``
that refused it — a refusal must leave nothing of that item written, so that the other items
go on and commit. Any exception it raises (a bug, a constraint the database enforces) rolls
the whole batch back, and each item is processed again in a transaction of its own, so the
others are not answered with that one's failure. A conflict with a concurrent transaction
(deadlock, serialization failure) re-runs the batch first (``run_in_transaction``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from yutang.kit.db import run_in_transaction
from yutang.kit.errors import DomainError

I = TypeVar("I")  # noqa: E741 - an item, as in the typing literature
R = TypeVar("R")

MAX_BATCH = 64
"""Writes in one transaction at most: enough to share a commit among a server's concurrent
requests, few enough that a batch processed again item by item (after a failure) stays
short."""

BatchProcess = Callable[[Session, Sequence[I]], Sequence["R | DomainError"]]


@dataclass(slots=True)
class _Pending(Generic[I, R]):
    item: I
    future: Future[R]


_STOP = object()


class WriteBatcher(Generic[I, R]):
    """Processes items submitted from any thread or event loop in shared transactions."""

    def __init__(self, factory: Callable[[], sessionmaker[Session]],
                 process: BatchProcess[I, R], max_batch: int = MAX_BATCH) -> None:
        """``factory``: the session factory of the writer transactions, asked for each batch
        (an app's may be replaced after the batcher is made, as tests do)."""
        self.factory = factory
        self.process = process
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: I) -> Future[R]:
        """The item's result (or refusal, or failure) once its batch has committed."""
        future: Future[R] = Future()
        self._ensure_running()
        self._queue.put(_Pending(item, future))
        return future

    async def run(self, item: I) -> R:
        return await asyncio.wrap_future(self.submit(item))

    def close(self) -> None:
        """Finish the items already submitted, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _ensure_running(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="write-batcher",
                                                daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Pending[I, R]] = [first]
            while len(batch) < self.max_batch:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is _STOP:
                    stopping = True
                    break
                batch.append(waiting)
            self._run(batch)

    def _run(self, batch: list[_Pending[I, R]]) -> None:
        live = [pending for pending in batch if pending.future.set_running_or_notify_cancel()]
        if live:
            self._settle(live)

    def _settle(self, live: list[_Pending[I, R]]) -> None:
        factory = self.factory()
        try:
            answers = run_in_transaction(
                factory, lambda session: self.process(session, [p.item for p in live]))
        except Exception as failure:
            if len(live) == 1:
                live[0].future.set_exception(failure)
                return
            for pending in live:  # each alone: the failure is answered to its own item
                self._settle([pending])
            return
        for pending, answer in zip(live, answers, strict=True):
            if isinstance(answer, DomainError):
                pending.future.set_exception(answer)
            else:
                pending.future.set_result(answer)
