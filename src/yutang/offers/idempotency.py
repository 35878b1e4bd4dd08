"""Every write of offers carries an idempotency key; a replay returns the first outcome.

In the write's own transaction: claim the key (``INSERT … ON CONFLICT DO NOTHING``: on
PostgreSQL a concurrent request with the same key waits for the first to commit), run the
work inside a savepoint, and store its outcome on the key's record — the result, or the
domain error it ended with (the savepoint is rolled back, the record is kept). A replay finds
the record and returns the stored outcome; the same key with a different request is refused
(``idempotency_key_reused``). Nothing is stored for a request that fails otherwise (a crash,
a bug): the transaction rolls back with the key, and a retry runs afresh.

``run_idempotent_atomic`` keeps the same contract for work that writes nothing before its
last statement and stores its own success outcome on the key's record in that statement (a
redemption): no savepoint and no separate outcome write, two round trips fewer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
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


def run_idempotent_atomic(
    session: Session,
    *,
    operation: str,
    key: str,
    target: str,
    request: Mapping[str, Any],
    work: Callable[[int], Outcome],
) -> Outcome:
    """``run_idempotent`` for work that writes nothing before its last statement (so a
    domain error leaves nothing to roll back) and stores its success outcome on the record
    whose id it is given, in that same statement."""
    claimed = _claim(session, operation=operation, key=key, target=target, request=request)
    if isinstance(claimed, Outcome):
        return claimed
    try:
        return work(claimed)
    except DomainError as error:
        outcome = Outcome(error.status, error.as_payload())
    repository.store_outcome(session, record_id=claimed, status_code=outcome.status_code,
                             response=outcome.body)
    return outcome


def _claim(session: Session, *, operation: str, key: str, target: str,
           request: Mapping[str, Any]) -> int | Outcome:
    """The new record's id; or, for a key used before, its first outcome (replayed)."""
    print_ = fingerprint(operation, target, request)
    record_id = repository.claim_idempotency_key(
        session, operation=operation, key=key, fingerprint=print_, now=utcnow())
    if record_id is not None:
        return record_id
    record = repository.idempotency_record(session, operation=operation, key=key)
    assert record is not None
    if record.fingerprint != print_:
        raise IdempotencyKeyReused(
            "this idempotency key was used for a different request", key=key,
            operation=operation)
    return Outcome(record.status_code, dict(record.response), replayed=True)
