"""Encryption and blind indexes for bulk loads, in worker processes when there is a lot of it.

AES-GCM and HMAC hold the GIL, so threads do not help; for a large demo the values are sealed
in chunks by a process pool while the main process writes rows. Ciphertexts come from the
kit's ``DataProtector`` (``encryptor``, ``blind_index``): the same format the ORM writes.

This module stays light (no numpy, no SQLAlchemy): worker processes import it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, TypeVar

from yutang.kit.crypto import (
    DataProtector,
    configure_protector,
    get_protector,
    normalize_name,
    normalize_phone,
)

T = TypeVar("T", covariant=True)



def _upper(value: str) -> str:
    return value.strip().upper()


# The normalisation applied before a blind index of each kind: what the pool's lookups do
# (``pool.identity_rules.normalize_value``, which a test holds this to); others are stripped.
NORMALISERS: dict[str, Callable[[str], str]] = {
    "phone": normalize_phone, "name": normalize_name, "member_card": _upper, "device_id": _upper,
}


@dataclass(frozen=True)
class SealJob:
    """Columns of one chunk of rows to encrypt (by context) and to index (by kind)."""

    encrypt: dict[str, tuple[str, Sequence[str | None]]] = field(default_factory=dict)
    """Column name → (encryption context, plaintexts)."""
    index: dict[str, tuple[str, Sequence[str]]] = field(default_factory=dict)
    """Column name → (blind index kind, values)."""


@dataclass(frozen=True)
class SealedColumns:
    encrypted: dict[str, list[bytes | None]]
    indexes: dict[str, list[str]]


def seal(job: SealJob) -> SealedColumns:
    """Run one job with the configured data protector."""
    protector = get_protector()
    encrypted = {
        column: _encrypt(protector, context, values)
        for column, (context, values) in job.encrypt.items()
    }
    indexes = {
        column: _index(protector, kind, values) for column, (kind, values) in job.index.items()
    }
    return SealedColumns(encrypted=encrypted, indexes=indexes)


def _encrypt(
    protector: DataProtector, context: str, values: Sequence[str | None]
) -> list[bytes | None]:
    encrypt = protector.encryptor(context)
    return [None if value is None else encrypt(value) for value in values]


def _index(protector: DataProtector, kind: str, values: Sequence[str]) -> list[str]:
    """Blind indexes, computed once per distinct value (names repeat a lot)."""
    normalise = NORMALISERS.get(kind, str.strip)
    known: dict[str, str] = {}
    indexes = []
    for value in values:
        index = known.get(value)
        if index is None:
            index = known[value] = protector.blind_index(normalise(value), kind)
        indexes.append(index)
    return indexes


class Pending(Protocol[T]):
    def result(self) -> T: ...


class _Deferred:
    """A job run in this process when its result is asked for."""

    def __init__(self, job: SealJob) -> None:
        self._job = job

    def result(self) -> SealedColumns:
        return seal(self._job)


class Sealer:
    """Runs seal jobs here (``workers`` 0) or in a pool of worker processes.

    Jobs are submitted early and their results read in order, so the workers encrypt the
    next chunks while the main process writes the previous ones.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Sealer:
        if self._workers > 0:
            # Spawned (not forked) workers: the parent may run threads (a progress bar).
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=configure_protector,
                initargs=(get_protector(),),
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=error is not None)

    def submit(self, job: SealJob) -> Pending[SealedColumns]:
        if self._pool is None:
            return _Deferred(job)
        future: Future[SealedColumns] = self._pool.submit(seal, job)
        return future


SMALL_LOAD_CUSTOMERS = 50_000


def default_workers(customers: int) -> int:
    """Worker processes worth starting: none for small loads or on a single core; otherwise
    one per core but one, which stays with the main process (it writes the rows)."""
    cores = os.cpu_count() or 1
    return 0 if customers < SMALL_LOAD_CUSTOMERS or cores < 2 else cores - 1
