"""Shared builders of the groups tests: a store with an owner, customers, an API client."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_api_key, make_customer, make_store, make_user
from yutang.access.models import User
from yutang.access.roles import Role
from yutang.org.models import Store
from yutang.pool.models import Customer, Event

_numbers = itertools.count(1)


@dataclass
class Shop:
    store: Store
    owner: User
    key: str
    customers: list[Customer]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_customers(session: Session, store: Store | None, count: int) -> list[Customer]:
    batch = next(_numbers)
    return [make_customer(session, store=store, name=f"群友{number}",
                          phone=f"137{batch % 100:02d}{number:06d}") for number in range(count)]


def make_shop(session: Session, customers: int = 5, role: Role = Role.HQ_OPERATOR,
              wecom_userid: str | None = None) -> Shop:
    number = next(_numbers)
    store = make_store(session, f"G{number:03d}")
    owner = make_user(session, f"owner{number}", Role.STAFF, store)
    owner.wecom_userid = wecom_userid
    session.flush()
    key = make_api_key(session, role, store if role in (Role.STAFF, Role.STORE_MANAGER)
                       else None)
    return Shop(store=store, owner=owner, key=key,
                customers=make_customers(session, store, customers))


def create_group(client: TestClient, shop: Shop, name: str = "福利群",
                 **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/groups", json={
        "store_code": shop.store.code, "name": name, "owner_username": shop.owner.username,
        **extra}, headers=shop.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_event(session: Session, *, event_id: str, kind: str, customer: Customer | None,
              at: datetime, properties: dict[str, Any], store: Store | None = None) -> Event:
    """A pool event as ingestion stores it (for the groups' sweep to read)."""
    event = Event(event_id=event_id, type=kind, occurred_at=at, received_at=at,
                  customer_id=customer.id if customer else None,
                  store_id=store.id if store else None, properties=properties)
    session.add(event)
    session.flush()
    return event
