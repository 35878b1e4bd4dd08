"""A verified API key is trusted for ``API_KEY_TRUST_SECONDS`` without a query: a revocation
in this process is refused at once, one made elsewhere within that delay; only the exact key
is trusted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.support.databases import migrated_database
from tests.support.factories import SYSTEM
from yutang.access import service as access_service
from yutang.access.errors import InvalidApiKey
from yutang.access.models import ApiKey
from yutang.access.roles import Role
from yutang.kit.clock import utcnow
from yutang.kit.db import create_engine, make_session_factory, unit_of_work


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


def test_the_last_use_is_recorded_at_most_once_a_minute(db: Session, engine: Engine,
                                                        clock: _Clock) -> None:
    issued = access_service.create_api_key(db, actor=SYSTEM, name="pos", role=Role.HQ_OPERATOR)
    assert issued.record.last_used_at is None
    access_service.authenticate_api_key(db, key=issued.key)
    recorded = db.scalar(select(ApiKey.last_used_at).where(ApiKey.id == issued.record.id))
    assert recorded is not None
    clock.now += access_service.API_KEY_TRUST_SECONDS + 1  # verified again: read, not written
    db.expire_all()  # as a new request's session
    with _queries(engine) as seen:
        access_service.authenticate_api_key(db, key=issued.key)
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT")
    assert db.scalar(select(ApiKey.last_used_at).where(ApiKey.id == issued.record.id)) == recorded


def test_a_last_use_being_recorded_elsewhere_is_not_waited_for(
        postgres_base_url: str, tmp_path: Path, request: pytest.FixtureRequest,
        clock: _Clock) -> None:
    """PostgreSQL: a request whose key's row another transaction holds (recording the same
    last use) authenticates without waiting for it, and writes nothing."""
    url = migrated_database("postgresql", tmp_path, "api_key_use", request)
    engine = create_engine(url)
    try:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            issued = access_service.create_api_key(session, actor=SYSTEM, name="pos",
                                                   role=Role.HQ_OPERATOR)
        key_id, stale = issued.record.id, utcnow() - timedelta(hours=1)
        with engine.begin() as holder_connection:
            holder_connection.execute(update(ApiKey).where(ApiKey.id == key_id)
                                      .values(last_used_at=stale))
        with engine.connect() as holder_connection, holder_connection.begin():
            holder_connection.execute(update(ApiKey).where(ApiKey.id == key_id)
                                      .values(name="pos"))  # holds the row until the end
            with unit_of_work(factory) as session:
                session.execute(text("SET LOCAL lock_timeout = '3s'"))  # fail, not hang
                principal = access_service.authenticate_api_key(session, key=issued.key)
            assert principal.id == key_id
        with unit_of_work(factory) as session:
            assert session.scalar(select(ApiKey.last_used_at)
                                  .where(ApiKey.id == key_id)) == stale
    finally:
        engine.dispose()
