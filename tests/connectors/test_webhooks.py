"""Signed webhooks: the ingestion API's payloads accepted when signed by their source;
refused with a stable code — and nothing written — when the signature is bad, the timestamp
stale, the signature replayed or the source unknown."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM, make_store
from yutang.connectors.webhooks import service, signing
from yutang.connectors.webhooks.models import WebhookDelivery
from yutang.pool.models import Customer, Event, Identity, Order

WRITTEN = (WebhookDelivery, Event, Order, Customer, Identity)
OCCURRED = "2026-11-20T10:00:00+08:00"


def _counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {model.__tablename__: int(db.scalar(select(func.count()).select_from(model)) or 0)
            for model in WRITTEN}


def _events_body(*event_ids: str) -> bytes:
    return orjson.dumps({"events": [
        {"event_id": event_id, "type": "view", "occurred_at": OCCURRED,
         "identities": {"wechat_openid": {"value": f"oMini{event_id}", "scope": "wxmini01"}},
         "properties": {"page": "/pages/index"}}
        for event_id in event_ids]})


def _send(client: TestClient, source: str, kind: str, body: bytes, secret: str, *,
          timestamp: int | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    signed = signing.signed_headers(secret, body, timestamp=timestamp or int(time.time()))
    response = client.post(f"/connectors/webhooks/{source}/{kind}", content=body,
                           headers={**signed, **(headers or {})})
    return response.status_code, response.json()


@pytest.fixture
def secret(db: Session) -> str:
    return service.add_source(db, actor=SYSTEM, name="miniprogram").secret


def test_signed_events_and_orders_go_in_like_the_api(
    client: TestClient, db: Session, secret: str
) -> None:
    make_store(db, "SH01")
    start = int(time.time())
    status, body = _send(client, "miniprogram", "events", _events_body("mp-1", "mp-2"), secret,
                         timestamp=start - 10)
    assert (status, body) == (200, {"accepted": 2, "duplicates": 0, "rejected": []})
    order = {"source": "miniprogram", "external_order_id": "MP20261120001", "status": "paid",
             "identities": {"wechat_openid": {"value": "oMinimp-1", "scope": "wxmini01"}},
             "store": "SH01", "ordered_at": OCCURRED, "paid_at": OCCURRED,
             "items": [{"sku": "FRUIT-BOX", "quantity": 2, "unit_price_fen": 4990}]}
    status, body = _send(client, "miniprogram", "orders",
                         orjson.dumps({"orders": [order, {"source": "x"}]}), secret)
    assert status == 200
    assert (body["accepted"], body["updated"], body["duplicates"]) == (1, 0, 0)
    assert [item["code"] for item in body["rejected"]] == ["invalid_order"]
    db.expire_all()
    stored = db.scalars(select(Order)).one()
    assert (stored.status, stored.total_fen, stored.paid_fen) == ("paid", 9980, 9980)
    first_event = db.scalars(select(Event).where(Event.event_id == "mp-1")).one()
    assert stored.customer_id == first_event.customer_id is not None
    deliveries = [(row.kind, row.outcome, row.records, row.accepted, row.rejected)
                  for row in db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    assert deliveries == [("events", "accepted", 2, 2, 0), ("orders", "partly_rejected", 2, 1, 1)]
    # the same records, signed afresh, are duplicates (idempotent by event id), not replays
    status, body = _send(client, "miniprogram", "events", _events_body("mp-1", "mp-2"), secret,
                         timestamp=start - 5)
    assert (status, body) == (200, {"accepted": 0, "duplicates": 2, "rejected": []})


def _error(status: int, body: Any) -> tuple[int, str]:
    return status, body["error"]["code"]


def test_every_refusal_has_its_code_and_writes_nothing(
    client: TestClient, db: Session, secret: str
) -> None:
    payload = _events_body("mp-9")
    before = _counts(db)
    # unknown source
    assert _error(*_send(client, "nosuch", "events", payload, secret)) == (404, "unknown_source")
    # signed with another secret, or the body changed after signing, or no header at all
    assert _error(*_send(client, "miniprogram", "events", payload, "whsec_wrong")) == (
        401, "bad_signature")
    signed = signing.signed_headers(secret, payload, timestamp=int(time.time()))
    tampered = client.post("/connectors/webhooks/miniprogram/events",
                           content=payload.replace(b"mp-9", b"mp-8"), headers=signed)
    assert _error(tampered.status_code, tampered.json()) == (401, "bad_signature")
    bare = client.post("/connectors/webhooks/miniprogram/events", content=payload)
    assert _error(bare.status_code, bare.json()) == (401, "bad_signature")
    # a timestamp outside the 5-minute window, though correctly signed
    assert _error(*_send(client, "miniprogram", "events", payload, secret,
                         timestamp=int(time.time()) - 360)) == (401, "stale_timestamp")
    assert _error(*_send(client, "miniprogram", "events", payload, secret,
                         timestamp=int(time.time()) + 360)) == (401, "stale_timestamp")
    assert _counts(db) == before
    # the signed request accepted once, then replayed byte for byte inside the window
    first = client.post("/connectors/webhooks/miniprogram/events", content=payload,
                        headers=signed)
    assert first.status_code == 200
    after = _counts(db)
    replay = client.post("/connectors/webhooks/miniprogram/events", content=payload,
                         headers=signed)
    assert _error(replay.status_code, replay.json()) == (409, "replayed")
    assert _counts(db) == after


def test_a_signed_body_that_is_not_a_batch_is_invalid_payload(
    client: TestClient, db: Session, secret: str
) -> None:
    before = _counts(db)
    for body in (b"{not json", json.dumps({"events": "nope"}).encode()):
        status, answer = _send(client, "miniprogram", "events", body, secret)
        assert (status, answer["error"]["code"]) == (422, "invalid_payload")
    assert _counts(db) == before


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """The documented contract, computed independently of our helper."""
    import hashlib
    import hmac

    body = b'{"events":[]}'
    expected = "sha256=" + hmac.new(b"whsec_abc", b"1764547200." + body,
                                    hashlib.sha256).hexdigest()
    assert signing.signature("whsec_abc", "1764547200", body) == expected
    now = datetime.fromtimestamp(1764547200, tz=UTC)
    verified = signing.verify("whsec_abc", timestamp="1764547200", given=expected.upper()
                              .replace("SHA256=", "sha256="), body=body, now=now)
    assert verified.signed_at == now


def test_sources_keep_their_secret_encrypted_and_show_it_masked(
    db: Session, secret: str
) -> None:
    assert secret.startswith("whsec_") and len(secret) > 40
    listed = service.list_sources(db, actor=SYSTEM)
    assert [(item.name, item.secret) for item in listed] == [("miniprogram", "whs****")]
    raw = db.execute(text("SELECT secret FROM webhook_source")).scalar_one()
    assert secret.encode() not in bytes(raw)
    from yutang.connectors.webhooks.errors import InvalidWebhookSource, WebhookSourceExists

    with pytest.raises(WebhookSourceExists):
        service.add_source(db, actor=SYSTEM, name="miniprogram")
    with pytest.raises(InvalidWebhookSource):
        service.add_source(db, actor=SYSTEM, name="Bad Name")
