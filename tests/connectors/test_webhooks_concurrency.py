"""Two copies of one signed delivery racing on a real database (SQLite file, PostgreSQL):
exactly one is applied, the other is refused as ``replayed`` and leaves nothing behind."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tests.support.factories import SYSTEM
from yutang.connectors.webhooks import service
from yutang.connectors.webhooks.errors import Replayed
from yutang.connectors.webhooks.models import DeliveryKind, WebhookDelivery
from yutang.connectors.webhooks.signing import Verified
from yutang.kit.db import (
    create_engine,
    make_session_factory,
    run_in_transaction,
    unit_of_work,
    writer_engine,
)
from yutang.pool.models import Event


def test_racing_copies_of_one_delivery_apply_once(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    factory = make_session_factory(writer_engine(engine))
    with unit_of_work(factory) as session:
        service.add_source(session, actor=SYSTEM, name="app")
    verified = Verified(signed_at=datetime.now(UTC), signature="sha256=" + "ab" * 32)
    records = [{"event_id": f"race-{number}", "type": "view",
                "occurred_at": "2026-11-20T10:00:00+08:00",
                "identities": {"app_user_id": f"U-{number}"}} for number in range(20)]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        barrier.wait()
        try:
            run_in_transaction(factory, lambda session: service.receive(
                session, source_name="app", kind=DeliveryKind.EVENTS, verified=verified,
                records=records))
        except Replayed:
            outcomes.append("replayed")
        except Exception as error:
            outcomes.append(repr(error))
        else:
            outcomes.append("applied")

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["applied", "replayed"]
    with unit_of_work(factory) as session:
        counts: dict[str, Any] = {
            "deliveries": session.scalar(select(func.count()).select_from(WebhookDelivery)),
            "events": session.scalar(select(func.count()).select_from(Event))}
    assert counts == {"deliveries": 1, "events": 20}
    engine.dispose()
