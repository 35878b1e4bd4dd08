"""Every write of offers carries an idempotency key; a replay returns the first outcome.

In the write's own transaction: claim the key (``INSERT … ON CONFLICT DO NOTHING``: on
PostgreSQL a concurrent request with the same key waits for the first to commit), run the
work inside a savepoint, and store its outcome on the key's record — the result, or the
domain error it ended with (the savepoint is rolled back, the record is kept). A replay finds
the record and returns the stored outcome; the same key with a different request is refused
(``idempotency_key_reused``). Nothing is stored for a request that fails otherwise (a crash,
a bug): the transaction rolls back with the key, and a retry runs afresh.
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
    print_ = fingerprint(operation, target, request)
    record_id = repository.claim_idempotency_key(
        session, operation=operation, key=key, fingerprint=print_, now=utcnow())
    if record_id is None:
        record = repository.idempotency_record(session, operation=operation, key=key)
        assert record is not None
        if record.fingerprint != print_:
            raise IdempotencyKeyReused(
                "this idempotency key was used for a different request", key=key,
                operation=operation)
        return Outcome(record.status_code, dict(record.response), replayed=True)
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
