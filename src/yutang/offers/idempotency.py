"""Every write of offers carries an idempotency key; a replay returns the first outcome.

In the write's own transaction: claim the key (``INSERT … ON CONFLICT DO NOTHING``: on
PostgreSQL a concurrent request with the same key waits for the first to commit), run the
work inside a savepoint, and store its outcome on the key's record — the result, or the
domain error it ended with (the savepoint is rolled back, the record is kept). A replay finds
the record and returns the stored outcome; the same key with a different request is refused
(``idempotency_key_reused``). Nothing is stored for a request that fails otherwise (a crash,
a bug): the transaction rolls back with the key, and a retry runs afresh.

``run_idempotent_all`` keeps the same contract for a batch of requests whose work writes
nothing for a refusal and stores each success's outcome on its key's record in the statement
that makes it (redemptions): no savepoints and no separate outcome writes, and the batch's
keys claimed in one statement.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from yutang.kit.clock import utcnow
from yutang.kit.errors import DomainError
from yutang.offers import repository
from yutang.offers.errors import IdempotencyKeyReused


@dataclass(frozen=True)
class Outcome:
    """What a write answered: an HTTP-like status and its JSON body."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def error_code(self) -> str | None:
        error = self.body.get("error")
        return str(error["code"]) if isinstance(error, dict) else None


def fingerprint(operation: str, target: str, request: Mapping[str, Any]) -> str:
    canonical = json.dumps({"operation": operation, "target": target, "request": request},
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    session: Session,
    *,
    operation: str,
    key: str,
    target: str,
    request: Mapping[str, Any],
    work: Callable[[], BaseModel],
    success_status: int = 201,
) -> Outcome:
    """Run ``work`` once per ``(operation, key)`` and answer its outcome, now and on replays."""
    claimed = _claim(session, operation=operation, key=key, target=target, request=request)
    if isinstance(claimed, Outcome):
        return claimed
    record_id = claimed
    savepoint = session.begin_nested()
    try:
        result = work()
        session.flush()
    except DomainError as error:
        savepoint.rollback()
        outcome = Outcome(error.status, error.as_payload())
    else:
        savepoint.commit()
        outcome = Outcome(success_status, result.model_dump(mode="json"))
    repository.store_outcome(session, record_id=record_id, status_code=outcome.status_code,
                             response=outcome.body)
    return outcome


@dataclass(frozen=True, slots=True)
class Keyed:
    """One request of a batch run by ``run_idempotent_all``: its key, target and fields."""

    key: str
    target: str
    request: Mapping[str, Any]


AtomicWork = Callable[[Sequence[tuple[int, int]]], Sequence[Outcome]]
"""Given (index in the batch, idempotency record id) of the requests to decide, their
outcomes in that order, each success stored on its record by the work itself."""


def run_idempotent_all(session: Session, *, operation: str, requests: Sequence[Keyed],
                       work: AtomicWork) -> list[Outcome | DomainError]:
    """``run_idempotent`` for a batch of requests whose work writes nothing for a refusal
    and stores each success's outcome on its record in the statement that makes it (a
    redemption): no savepoints, the keys claimed in one statement, the refusals' outcomes
    stored in one. Each request's answer: its outcome (a replay's included), or the
    ``IdempotencyKeyReused`` that refused it. A key that appears twice in the batch is
    claimed once the first one's outcome is stored, and replays it."""
    answers: list[Outcome | DomainError | None] = [None] * len(requests)
    remaining = list(range(len(requests)))
    while remaining:
        wave, remaining = _first_of_each_key(remaining, requests)
        prints = {index: fingerprint(operation, requests[index].target,
                                     requests[index].request) for index in wave}
        claimed = repository.claim_idempotency_keys(
            session, operation=operation, now=utcnow(),
            fingerprints={requests[index].key: prints[index] for index in wave})
        fresh = []
        for index in wave:
            record_id = claimed.get(requests[index].key)
            if record_id is not None:
                fresh.append((index, record_id))
                continue
            try:
                answers[index] = _replay(session, operation=operation,
                                         key=requests[index].key, print_=prints[index])
            except DomainError as refusal:
                answers[index] = refusal
        refusals = []
        for (index, record_id), outcome in zip(fresh, work(fresh), strict=True):
            answers[index] = outcome
            if not outcome.succeeded:
                refusals.append((record_id, outcome.status_code, outcome.body))
        repository.store_outcomes(session, refusals)
    assert all(answer is not None for answer in answers)  # every request was answered
    return [answer for answer in answers if answer is not None]


def _first_of_each_key(indexes: list[int],
                       requests: Sequence[Keyed]) -> tuple[list[int], list[int]]:
    """The first request of each key, and the others (in order) for a later wave."""
    seen: set[str] = set()
    wave: list[int] = []
    later: list[int] = []
    for index in indexes:
        (later if requests[index].key in seen else wave).append(index)
        seen.add(requests[index].key)
    return wave, later


def _claim(session: Session, *, operation: str, key: str, target: str,
           request: Mapping[str, Any]) -> int | Outcome:
    """The new record's id; or, for a key used before, its first outcome (replayed)."""
    print_ = fingerprint(operation, target, request)
    record_id = repository.claim_idempotency_key(
        session, operation=operation, key=key, fingerprint=print_, now=utcnow())
    if record_id is not None:
        return record_id
    return _replay(session, operation=operation, key=key, print_=print_)


def _replay(session: Session, *, operation: str, key: str, print_: str) -> Outcome:
    """The first outcome of a key used before, unless it was for a different request."""
    record = repository.idempotency_record(session, operation=operation, key=key)
    assert record is not None
    if record.fingerprint != print_:
        raise IdempotencyKeyReused(
            "this idempotency key was used for a different request", key=key,
            operation=operation)
    return Outcome(record.status_code, dict(record.response), replayed=True)
