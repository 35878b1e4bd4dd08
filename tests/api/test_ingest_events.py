"""POST /api/v1/events: per-event validation, idempotency, OneID resolution, limits."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import make_api_key, make_store
from yutang.access.roles import Role
from yutang.pool.models import Customer, Event, MergeLog


def _count(db: Session, model: type[Any], *conditions: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _headers(db: Session, role: Role = Role.HQ_OPERATOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_api_key(db, role)}"}


def _event(event_id: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "view", "occurred_at": "2026-10-01T12:00:00+08:00",
            "identities": {"wechat_unionid": "U-1"}, **fields}


def test_good_events_go_in_bad_ones_are_rejected_one_by_one(
    client: TestClient, db: Session
) -> None:
    make_store(db, "SH01")
    headers = _headers(db)
    batch = [
        _event("e1"),
        _event("e2", type="add_to_cart", store="SH01"),
        {"type": "view", "occurred_at": "2026-10-01T12:00:00+08:00"},  # no event_id
        _event("e4", occurred_at="yesterday"),
        _event("e5", occurred_at="2026-10-01T12:00:00"),  # no timezone
        _event("e6", identities={"qq": "123"}),
        _event("e7", store="NOPE"),
        _event("e1"),  # repeated inside the batch
        _event("e9", type="my_custom_thing", properties={"level": 3}),
        "not an object",
    ]
    response = client.post("/api/v1/events", json={"events": batch}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 3
    assert body["duplicates"] == 1
    assert [(item["index"], item["code"]) for item in body["rejected"]] == [
        (2, "invalid_event"), (3, "invalid_event"), (4, "invalid_event"),
        (5, "unknown_identity_kind"), (6, "store_not_found"), (9, "invalid_event"),
    ]
    assert "event_id" in body["rejected"][0]["message"]
    assert _count(db, Event) == 3
    assert _count(db, Customer) == 1
    custom = db.scalars(select(Event).where(Event.event_id == "e9")).one()
    assert (custom.type, custom.properties) == ("my_custom_thing", {"level": 3})
    customer_ids = set(db.scalars(select(Event.customer_id)))
    assert len(customer_ids) == 1 and None not in customer_ids

    again = client.post("/api/v1/events", json={"events": batch}, headers=headers).json()
    assert (again["accepted"], again["duplicates"]) == (0, 4)
    assert _count(db, Event) == 3


def test_events_bridging_customers_merge_them(client: TestClient, db: Session) -> None:
    headers = _headers(db)
    first = [_event("a", identities={"wechat_unionid": "U-a"}),
             _event("b", identities={"phone": "13912345678"})]
    assert client.post("/api/v1/events", json={"events": first},
                       headers=headers).json()["accepted"] == 2
    assert _count(db, Customer, Customer.merged_into_id.is_(None)) == 2
    bridge = [_event("c", type="add_contact",
                     identities={"wechat_unionid": "U-a", "phone": "139-1234-5678",
                                 "wechat_openid": {"value": "o-a", "scope": "wx1"}})]
    assert client.post("/api/v1/events", json={"events": bridge},
                       headers=headers).json()["accepted"] == 1
    assert _count(db, Customer, Customer.merged_into_id.is_(None)) == 1
    assert len(set(db.scalars(select(Event.customer_id)))) == 1
    assert _count(db, MergeLog) == 1
    log = db.scalars(select(MergeLog)).one()
    assert (log.trigger, log.trigger_ref) == ("event", "c")


def test_limits_and_malformed_bodies_write_nothing(client: TestClient, db: Session) -> None:
    headers = _headers(db)
    oversize = [_event(f"x{n}") for n in range(1001)]
    too_many = client.post("/api/v1/events", json={"events": oversize}, headers=headers)
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "batch_too_large"
    broken = client.post("/api/v1/events", content=b'{"events": [', headers={
        **headers, "Content-Type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "invalid_payload"
    not_a_list = client.post("/api/v1/events", json={"events": {"a": 1}}, headers=headers)
    assert not_a_list.status_code == 422
    assert _count(db, Event) == 0 and _count(db, Customer) == 0


def test_roles_that_may_not_write_are_refused(client: TestClient, db: Session) -> None:
    response = client.post("/api/v1/events", json={"events": [_event("z")]},
                           headers=_headers(db, Role.ANALYST))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_not_allowed"
    assert _count(db, Event) == 0


def test_a_batch_that_merges_moves_its_own_events_of_the_loser(
    client: TestClient, db: Session
) -> None:
    headers = _headers(db)
    seed = [_event("a", identities={"wechat_unionid": "U-merge"}),
            _event("b", identities={"phone": "13912345001"})]
    assert client.post("/api/v1/events", json={"events": seed}, headers=headers).json()[
        "accepted"] == 2
    loser = db.scalars(select(Event.customer_id).where(Event.event_id == "b")).one()
    # "known" resolves to the loser in bulk; "bridge" merges it away in the same batch
    batch = [_event("known", identities={"phone": "13912345001"}),
             _event("bridge", identities={"wechat_unionid": "U-merge", "phone": "13912345001"})]
    answer = client.post("/api/v1/events", json={"events": batch}, headers=headers).json()
    assert answer == {"accepted": 2, "duplicates": 0, "rejected": []}
    live = db.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None))).all()
    assert len(live) == 1 and live[0] != loser
    owners = {row[0]: row[1] for row in db.execute(select(Event.event_id, Event.customer_id))}
    assert owners == {"a": live[0], "b": live[0], "known": live[0], "bridge": live[0]}
