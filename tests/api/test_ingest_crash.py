"""A server killed (SIGKILL) in the middle of a stream of event batches loses no answered
batch, and re-sending everything afterwards creates no duplicate."""

from __future__ import annotations

import signal
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.support.factories import make_api_key
from tests.support.server_process import server_process
from yutang.access.roles import Role
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.pool.models import Customer, Event

pytestmark = pytest.mark.slow

BATCHES = 80
PER_BATCH = 50


def _batch(number: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"b{number}-e{n}",
            "type": "view",
            "occurred_at": "2026-10-01T12:00:00+08:00",
            # every fifth person is new in this batch; the rest come back
            "identities": {"wechat_unionid": f"U-{(number * PER_BATCH + n) % 900}"},
        }
        for n in range(PER_BATCH)
    ]


def _event_ids(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(Event.event_id)))
    finally:
        engine.dispose()


def test_answered_batches_survive_a_kill_and_replays_create_no_duplicates(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        key = make_api_key(session, Role.HQ_OPERATOR)
    engine.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    answered: list[int] = []
    with server_process(fresh_database_url) as (process, url):
        enough = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
                for number in range(BATCHES):
                    try:
                        response = client.post("/api/v1/events",
                                               json={"events": _batch(number)})
                    except httpx.HTTPError:
                        return
                    if response.status_code == 200:
                        answered.append(number)
                    if len(answered) >= 15:
                        enough.set()

        sender = threading.Thread(target=stream)
        sender.start()
        assert enough.wait(timeout=120)
        process.send_signal(signal.SIGKILL)
        sender.join(timeout=30)
    assert 15 <= len(answered) < BATCHES  # killed mid-stream
    stored = set(_event_ids(fresh_database_url))
    for number in answered:
        assert {event["event_id"] for event in _batch(number)} <= stored

    with (
        server_process(fresh_database_url) as (_, url),
        httpx.Client(base_url=url, headers=headers, timeout=30) as client,
    ):
        for number in range(BATCHES):
            response = client.post("/api/v1/events", json={"events": _batch(number)})
            assert response.status_code == 200
            body = response.json()
            assert body["rejected"] == []
            assert body["accepted"] + body["duplicates"] == PER_BATCH
    ids = _event_ids(fresh_database_url)
    assert len(ids) == len(set(ids)) == BATCHES * PER_BATCH
    engine = create_engine(fresh_database_url)
    try:
        with make_session_factory(engine)() as session:
            live = session.scalar(select(func.count()).select_from(Customer).where(
                Customer.merged_into_id.is_(None)))
            assert live == 900
    finally:
        engine.dispose()
