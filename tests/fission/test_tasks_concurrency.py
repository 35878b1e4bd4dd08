"""The fission task reward under real HTTP concurrency, on SQLite and PostgreSQL: 40 friends
join through one participant's task code at once (target 3): every join counts, the
participant completes once, exactly one reward is recorded and exactly one coupon issued —
and the sweep afterwards grants nothing more. Two referrers racing for one friend: exactly
one edge, the other gets ``already_referred``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import BACKENDS
from tests.offers.support import make_customers, threshold_template
from tests.support.databases import migrated_database
from tests.support.factories import make_api_key, make_store
from tests.support.server_process import server_process
from yutang.access.roles import Role
from yutang.fission import referral_service
from yutang.fission.models import FissionReward, ReferralEdge, TaskParticipant
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.offers.models import Coupon

pytestmark = pytest.mark.slow

CLIENTS = 16
FRIENDS = 40


@dataclass(frozen=True)
class Shop:
    url: str
    database_url: str
    api_key: str
    customer_ids: list[int]


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    database_url = migrated_database(request.param, tmp_path_factory.mktemp("fission"),
                                     "fission", request)
    engine = create_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            store = make_store(session, "F01")
            api_key = make_api_key(session, Role.HQ_OPERATOR)
            ids = [customer.id for customer in make_customers(session, store, FRIENDS + 3)]
    finally:
        engine.dispose()
    with server_process(database_url) as (_, url):
        yield Shop(url=url, database_url=database_url, api_key=api_key, customer_ids=ids)


def _client(shop: Shop) -> httpx.Client:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    return httpx.Client(base_url=shop.url, headers={"Authorization": f"Bearer {shop.api_key}"},
                        timeout=120, limits=limits)


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1{path}", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _all_at_once(client: httpx.Client, bodies: list[dict[str, Any]]) -> Counter[str]:
    def send(body: dict[str, Any]) -> str:
        response = client.post("/api/v1/referrals", json=body)
        return str(response.status_code) if response.status_code < 300 else str(
            response.json()["error"]["code"])

    with ThreadPoolExecutor(CLIENTS) as pool:
        return Counter(pool.map(send, bodies))


def test_40_concurrent_qualifying_joins_grant_the_reward_once(shop: Shop) -> None:
    leader, *friends = shop.customer_ids[:FRIENDS + 1]
    with _client(shop) as client:
        template = _post(client, "/coupon-templates", threshold_template(stock=100))
        task = _post(client, "/fission-tasks", {
            "name": "邀3人得券", "invite_target": 3, "window_days": 7,
            "reward_kind": "coupon", "coupon_template_id": template["id"]})
        code = _post(client, f"/fission-tasks/{task['id']}/participants",
                     {"customer_id": leader})["code"]
        outcomes = _all_at_once(client, [
            {"code": code, "customer_id": friend, "status": "joined"} for friend in friends])
        progress = client.get(f"/api/v1/fission-tasks/{task['id']}/participants/{leader}").json()
    assert outcomes == Counter({"201": FRIENDS})
    assert progress["joined"] == FRIENDS and progress["reward"]["status"] == "granted"

    engine = create_engine(shop.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            assert session.scalar(select(func.count()).select_from(FissionReward)) == 1
            assert session.scalar(select(func.count()).select_from(Coupon).where(
                Coupon.template_id == template["id"])) == 1
            assert session.scalar(select(Coupon.customer_id).where(
                Coupon.template_id == template["id"])) == leader
            assert session.scalar(select(TaskParticipant.qualified)) == FRIENDS
            assert referral_service.sweep(session).rewards_granted == 0
    finally:
        engine.dispose()


def test_two_referrers_racing_for_one_friend_make_one_edge(shop: Shop) -> None:
    first, second, friend = shop.customer_ids[-3:]
    with _client(shop) as client:
        codes = [_post(client, "/referral-codes", {"customer_id": owner})["code"]
                 for owner in (first, second)]
        outcomes = _all_at_once(client, [{"code": codes[number % 2], "customer_id": friend}
                                         for number in range(20)])
    # The winning code: one edge made, the rest of its calls answer it; the other code:
    # every call refused.
    assert outcomes == Counter({"201": 1, "200": 9, "already_referred": 10})
    engine = create_engine(shop.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            assert session.scalar(select(func.count()).select_from(ReferralEdge).where(
                ReferralEdge.referee_customer_id == friend)) == 1
    finally:
        engine.dispose()
