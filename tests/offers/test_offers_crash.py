"""A server killed (SIGKILL) in the middle of a stream of top-ups and claims loses no
answered write, and replaying every request afterwards duplicates nothing."""

from __future__ import annotations

import signal
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.offers.support import make_customers, threshold_template
from tests.support.factories import make_api_key, make_store
from tests.support.server_process import server_process
from yutang.access.roles import Role
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.offers.models import Coupon, LedgerTransaction

pytestmark = pytest.mark.slow

WRITES = 120


def _requests(customer_id: int, template_id: int) -> list[tuple[str, dict[str, Any]]]:
    requests: list[tuple[str, dict[str, Any]]] = []
    for number in range(WRITES):
        if number % 2:
            requests.append((f"/api/v1/members/{customer_id}/stored-value/top-ups",
                             {"amount_fen": 100, "idempotency_key": f"top-up-{number}"}))
        else:
            requests.append((f"/api/v1/coupon-templates/{template_id}/claims",
                             {"customer_id": customer_id, "idempotency_key": f"claim-{number}"}))
    return requests


def _counts(database_url: str) -> tuple[int, int, set[str]]:
    engine = create_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            top_ups = session.scalar(select(func.count()).select_from(LedgerTransaction).where(
                LedgerTransaction.kind == "top_up")) or 0
            coupons = session.scalar(select(func.count()).select_from(Coupon)) or 0
            codes = set(session.scalars(select(Coupon.code)))
            return int(top_ups), int(coupons), codes
    finally:
        engine.dispose()


def test_answered_writes_survive_a_kill_and_replays_duplicate_nothing(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        store = make_store(session, "K01")
        api_key = make_api_key(session, Role.HQ_OPERATOR)
        (customer,) = make_customers(session, store, 1)
        customer_id = customer.id
    engine.dispose()
    headers = {"Authorization": f"Bearer {api_key}"}
    answered: dict[int, dict[str, Any]] = {}
    with server_process(fresh_database_url) as (process, url):
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            template = client.post("/api/v1/coupon-templates",
                                   json=threshold_template(stock=40, idempotency_key="tpl"))
            assert template.status_code == 201
        template_id = int(template.json()["id"])
        requests = _requests(customer_id, template_id)
        enough = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
                for number, (path, body) in enumerate(requests):
                    try:
                        response = client.post(path, json=body)
                    except httpx.HTTPError:
                        return
                    if response.status_code == 201:
                        answered[number] = response.json()
                    if len(answered) >= 25:
                        enough.set()

        sender = threading.Thread(target=stream)
        sender.start()
        assert enough.wait(timeout=120)
        process.send_signal(signal.SIGKILL)
        sender.join(timeout=30)
    assert 25 <= len(answered) < WRITES  # killed mid-stream
    top_ups, coupons, codes = _counts(fresh_database_url)
    answered_top_ups = sum(1 for number in answered if number % 2)
    answered_codes = {body["code"] for number, body in answered.items() if not number % 2}
    assert top_ups >= answered_top_ups
    assert answered_codes <= codes

    with (
        server_process(fresh_database_url) as (_, url),
        httpx.Client(base_url=url, headers=headers, timeout=30) as client,
    ):
        for number, (path, body) in enumerate(requests):
            response = client.post(path, json=body)
            if number in answered:  # the first answer, again
                assert (response.status_code, response.json()) == (201, answered[number])
            elif number % 2 == 0 and response.status_code != 201:
                assert response.json()["error"]["code"] == "coupon_out_of_stock"
            else:
                assert response.status_code == 201
        stored = client.get(f"/api/v1/members/{customer_id}/stored-value").json()
    top_ups, coupons, _ = _counts(fresh_database_url)
    assert top_ups == WRITES // 2
    assert stored["balance_fen"] == 100 * (WRITES // 2)
    assert coupons == 40
