"""The must-shows under real HTTP concurrency, on SQLite and PostgreSQL: one coupon redeemed
by 200 requests at once succeeds exactly once; 5,000 claims of a template with stock 1,000
make exactly 1,000 coupons; 100 charges of 30 fen on 1,000 fen: exactly 33 pass, 10 fen left.
Also: different coupons on one order at once stack as the rules say, and one redemption sent
20 times at once with its key redeems once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import BACKENDS
from tests.offers.support import (
    issued_within_stock,
    ledger_invariants,
    make_customers,
    make_order,
    threshold_template,
)
from tests.support.databases import migrated_database
from tests.support.factories import make_api_key, make_store
from tests.support.server_process import server_process
from yutang.access.roles import Role
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.offers.models import Coupon, CouponEvent, LedgerTransaction
from yutang.pool.models import Customer

pytestmark = pytest.mark.slow

CLIENTS = 32


@dataclass(frozen=True)
class Shop:
    url: str
    database_url: str
    api_key: str
    customer_ids: list[int]
    order_id: int


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """One server process per backend for the module, on a database of its own."""
    database_url = migrated_database(request.param, tmp_path_factory.mktemp("offers"),
                                     "offers", request)
    engine = create_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            store = make_store(session, "C01")
            api_key = make_api_key(session, Role.HQ_OPERATOR)
            customers = make_customers(session, store, 100)
            order = make_order(session, customers[0], total_fen=20_000, store=store)
            ids, order_id = [customer.id for customer in customers], order.id
    finally:
        engine.dispose()
    with server_process(database_url) as (_, url):
        yield Shop(url=url, database_url=database_url, api_key=api_key,
                   customer_ids=ids, order_id=order_id)


def _all_at_once(shop: Shop, requests: list[tuple[str, dict[str, Any]]]) -> Counter[str]:
    """POST every request from a pool of clients; count the outcomes (201 or error code)."""
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    with httpx.Client(base_url=shop.url, headers=headers, timeout=120, limits=limits) as client:
        def send(request: tuple[str, dict[str, Any]]) -> str:
            response = client.post(request[0], json=request[1])
            if response.status_code == 201:
                return "201"
            return str(response.json()["error"]["code"])

        with ThreadPoolExecutor(CLIENTS) as pool:
            return Counter(pool.map(send, requests))


def _check(shop: Shop, check: Callable[..., None]) -> None:
    engine = create_engine(shop.database_url)
    try:
        with make_session_factory(engine)() as session:
            check(session)
    finally:
        engine.dispose()


def _post(shop: Shop, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{shop.url}{path}", json=body,
                          headers={"Authorization": f"Bearer {shop.api_key}"}, timeout=30)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_200_concurrent_redemptions_of_one_coupon_succeed_once(shop: Shop) -> None:
    template = _post(shop, "/api/v1/coupon-templates", threshold_template(stock=1))
    coupon = _post(shop, f"/api/v1/coupon-templates/{template['id']}/claims",
                   {"customer_id": shop.customer_ids[0], "idempotency_key": "claim-0"})
    outcomes = _all_at_once(shop, [
        (f"/api/v1/coupons/{coupon['code']}/redemptions",
         {"order_id": shop.order_id, "idempotency_key": f"redeem-{number}"})
        for number in range(200)
    ])
    assert outcomes == Counter({"201": 1, "coupon_already_redeemed": 199})

    def check(session: Any) -> None:
        assert session.scalar(select(func.count()).select_from(CouponEvent).join(Coupon).where(
            CouponEvent.kind == "redeemed", Coupon.code == coupon["code"])) == 1
        assert session.scalar(select(Coupon.status).where(
            Coupon.code == coupon["code"])) == "redeemed"

    _check(shop, check)


def _order_of(shop: Shop, customer_id: int, total_fen: int) -> int:
    engine = create_engine(shop.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            customer = session.get(Customer, customer_id)
            assert customer is not None
            return make_order(session, customer, total_fen=total_fen).id
    finally:
        engine.dispose()


def _coupons_for(shop: Shop, customer_id: int, count: int, **template: Any) -> list[str]:
    created = _post(shop, "/api/v1/coupon-templates", threshold_template(stock=None, **template))
    return [_post(shop, f"/api/v1/coupon-templates/{created['id']}/claims",
                  {"customer_id": customer_id,
                   "idempotency_key": f"claim-{created['id']}-{number}"})["code"]
            for number in range(count)]


def test_concurrent_coupons_on_one_order_stack_as_the_rules_say(shop: Shop) -> None:
    """Ten different coupons on one order at once: of exclusive ones exactly one passes (the
    others: stacking); stackable ones (1,000 off from 1 fen) take a 5,000-fen order exactly
    to zero — five pass, five find nothing left (below_threshold), never more taken off."""
    customer = shop.customer_ids[2]
    exclusive = _coupons_for(shop, customer, 10, threshold_fen=0, discount_fen=1_000)
    stackable = _coupons_for(shop, customer, 10, threshold_fen=1, discount_fen=1_000,
                             stacking="stackable")
    for codes, expected, reason in (
        (exclusive, Counter({"201": 1, "coupon_not_applicable": 9}), "stacking"),
        (stackable, Counter({"201": 5, "coupon_not_applicable": 5}), "below_threshold"),
    ):
        order_id = _order_of(shop, customer, 5_000)
        headers = {"Authorization": f"Bearer {shop.api_key}"}
        with httpx.Client(base_url=shop.url, headers=headers, timeout=120) as client:
            def send(code: str, order_id: int = order_id) -> Any:
                return client.post(f"/api/v1/coupons/{code}/redemptions",
                                   json={"order_id": order_id, "idempotency_key": f"o-{code}"})

            with ThreadPoolExecutor(len(codes)) as pool:
                answers = list(pool.map(send, codes))
        outcomes = Counter("201" if answer.status_code == 201 else
                           answer.json()["error"]["code"] for answer in answers)
        assert outcomes == expected
        assert {answer.json()["error"]["details"]["reason"] for answer in answers
                if answer.status_code != 201} == {reason}

        def check(session: Any, order_id: int = order_id, passed: int = expected["201"]
                  ) -> None:
            rows = session.execute(select(Coupon.discount_fen).where(
                Coupon.order_id == order_id, Coupon.status == "redeemed")).scalars().all()
            assert sorted(rows) == [1_000] * passed
            assert session.scalar(select(func.count()).select_from(CouponEvent).where(
                CouponEvent.order_id == order_id, CouponEvent.kind == "redeemed")) == passed

        _check(shop, check)


def test_one_redemption_sent_20_times_at_once_redeems_once(shop: Shop) -> None:
    """The same idempotency key 20 times at once: one redemption, 20 identical answers."""
    customer = shop.customer_ids[3]
    (code,) = _coupons_for(shop, customer, 1, threshold_fen=0, discount_fen=300)
    order_id = _order_of(shop, customer, 1_000)
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    with httpx.Client(base_url=shop.url, headers=headers, timeout=120) as client:
        def send(_: int) -> Any:
            return client.post(f"/api/v1/coupons/{code}/redemptions",
                               json={"order_id": order_id, "idempotency_key": "same-key"})

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(send, range(20)))
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.text for answer in answers}) == 1
    assert answers[0].json()["discount_fen"] == 300
    assert sum(answer.headers.get("Idempotent-Replayed") == "true" for answer in answers) == 19

    def check(session: Any) -> None:
        assert session.scalar(select(func.count()).select_from(CouponEvent).join(Coupon).where(
            Coupon.code == code, CouponEvent.kind == "redeemed")) == 1

    _check(shop, check)


def test_5000_concurrent_claims_of_1000_coupons_make_exactly_1000(shop: Shop) -> None:
    template = _post(shop, "/api/v1/coupon-templates", threshold_template(stock=1_000))
    outcomes = _all_at_once(shop, [
        (f"/api/v1/coupon-templates/{template['id']}/claims",
         {"customer_id": shop.customer_ids[number % 100], "idempotency_key": f"c-{number}"})
        for number in range(5_000)
    ])
    assert outcomes == Counter({"201": 1_000, "coupon_out_of_stock": 4_000})

    def check(session: Any) -> None:
        assert session.scalar(select(func.count()).select_from(Coupon).where(
            Coupon.template_id == template["id"])) == 1_000
        issued_within_stock(session)

    _check(shop, check)


def test_100_concurrent_charges_of_30_fen_on_1000_fen(shop: Shop) -> None:
    customer = shop.customer_ids[1]
    base = f"/api/v1/members/{customer}/stored-value"
    _post(shop, f"{base}/top-ups", {"amount_fen": 1_000, "idempotency_key": "top-up"})
    outcomes = _all_at_once(shop, [
        (f"{base}/charges", {"amount_fen": 30, "external_order_id": f"POS-{number}",
                             "idempotency_key": f"charge-{number}"})
        for number in range(100)
    ])
    assert outcomes == Counter({"201": 33, "insufficient_balance": 67})
    balance = httpx.get(f"{shop.url}{base}", headers={
        "Authorization": f"Bearer {shop.api_key}"}).json()
    assert (balance["balance_fen"], balance["principal_fen"]) == (10, 10)

    def check(session: Any) -> None:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction).where(
            LedgerTransaction.kind == "charge")) == 33
        ledger_invariants(session)

    _check(shop, check)
