"""Shared builders of the referral, task and partner tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.offers.support import seed
from yutang.fission.models import FissionReward, ReferralEdge
from yutang.org.models import Store
from yutang.pool.models import Customer


def headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


class Api:
    """The API as one caller sees it."""

    def __init__(self, client: TestClient, api_key: str) -> None:
        self.client = client
        self.headers = headers(api_key)

    def post(self, path: str, body: dict[str, Any], expect: int | None = None) -> Any:
        response = self.client.post(f"/api/v1{path}", json=body, headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    def get(self, path: str, expect: int | None = 200) -> Any:
        response = self.client.get(f"/api/v1{path}", headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json()

    def code_of(self, customer_id: int) -> str:
        body = self.post("/referral-codes", {"customer_id": customer_id}).json()
        return str(body["code"])

    def refer(self, code: str, customer_id: int, status: str = "clicked",
              expect: int | None = None, **extra: Any) -> Any:
        return self.post("/referrals", {"code": code, "customer_id": customer_id,
                                        "status": status, **extra}, expect=expect)

    def move(self, referral_id: int, status: str, expect: int | None = None,
             **extra: Any) -> Any:
        return self.post(f"/referrals/{referral_id}/transitions", {"status": status, **extra},
                         expect=expect)


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def shop(db: Session, client: TestClient, customers: int = 6) -> tuple[Store, Api,
                                                                        list[Customer]]:
    store, api_key, people = seed(db, customers=customers)
    return store, Api(client, api_key), people


def edges_of(db: Session, customer_id: int) -> int:
    return int(db.scalar(select(func.count()).select_from(ReferralEdge).where(
        ReferralEdge.referee_customer_id == customer_id)) or 0)


def rewards(db: Session) -> list[FissionReward]:
    db.expire_all()
    return list(db.scalars(select(FissionReward).order_by(FissionReward.id)))
