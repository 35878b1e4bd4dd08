"""A verified API key is trusted for ``API_KEY_TRUST_SECONDS`` without a query: a revocation
in this process is refused at once, one made elsewhere within that delay; only the exact key
is trusted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.access import service as access_service
from yutang.access.errors import InvalidApiKey
from yutang.access.models import ApiKey
from yutang.access.roles import Role
from yutang.kit.clock import utcnow


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(access_service, "_trust_clock", fake)
    return fake


@contextmanager
def _queries(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*arguments: Any) -> None:
        seen.append(str(arguments[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_verified_key_is_trusted_for_a_few_seconds(db: Session, engine: Engine,
                                                     clock: _Clock) -> None:
    issued = access_service.create_api_key(db, actor=SYSTEM, name="pos", role=Role.HQ_OPERATOR)
    first = access_service.authenticate_api_key(db, key=issued.key)
    db.flush()  # its last_used_at
    with _queries(engine) as seen:
        assert access_service.authenticate_api_key(db, key=f" {issued.key} ") == first
        assert seen == []  # trusted: no query
        tampered = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")
        with pytest.raises(InvalidApiKey, match="not valid"):
            access_service.authenticate_api_key(db, key=tampered)
        assert len(seen) == 1  # a key not verified before is always looked up

    # revoked by another process (the CLI): refused once the trust delay is over
    db.execute(update(ApiKey).where(ApiKey.id == issued.record.id).values(revoked_at=utcnow()))
    clock.now += access_service.API_KEY_TRUST_SECONDS - 0.5
    assert access_service.authenticate_api_key(db, key=issued.key) == first
    clock.now += 1
    with pytest.raises(InvalidApiKey, match="revoked"):
        access_service.authenticate_api_key(db, key=issued.key)


def test_a_revocation_in_this_process_is_refused_at_once(db: Session, clock: _Clock) -> None:
    issued = access_service.create_api_key(db, actor=SYSTEM, name="pos", role=Role.HQ_OPERATOR)
    access_service.authenticate_api_key(db, key=issued.key)
    access_service.revoke_api_key(db, actor=SYSTEM, api_key_id=issued.record.id)
    with pytest.raises(InvalidApiKey, match="revoked"):
        access_service.authenticate_api_key(db, key=issued.key)
    assert clock.now == 1_000.0  # no time passed
