"""Coupon redemptions over HTTP on PostgreSQL: redemptions/s and latency percentiles under
64 concurrent clients, beside two baselines measured in the same run:

- ``1 client``: the same endpoint, one request at a time (the latency floor);
- ``GET /healthz``: the web stack alone under the same 64 clients (no database, no work):
  the ceiling the framework and this machine allow.

Every redemption is a different coupon against a different order (each coupon redeemed
once), through ``POST /api/v1/coupons/{code}/redemptions`` with its idempotency key:
authentication, the idempotency record, the order's row lock, the benefit computation,
the conditional ``available → redeemed`` UPDATE and the coupon's timeline row.

    python bench/bench_offers.py [--redemptions 12000] [--clients 64] [--workers 2]
                                 [--postgres URL]

Without --postgres a throw-away PostgreSQL server is started (initdb), as in the tests.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from served import DATA_KEY, yutang_server
from tests.support.postgres import create_database, postgres_server

from yutang.access.roles import Role
from yutang.kit.clock import utcnow
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade

CUSTOMERS = 1_000


def _seed(database_url: str, coupons: int) -> tuple[str, list[tuple[str, int]]]:
    """An API key, customers, one template, and ``coupons`` (coupon, order) pairs."""
    from tests.support.factories import make_api_key, make_customer, make_store

    from yutang.offers.coupons import new_code
    from yutang.offers.models import Coupon, CouponTemplate
    from yutang.pool.models import Order, OrderItem

    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(DATA_KEY)))
    engine = create_engine(database_url)
    pairs: list[tuple[str, int]] = []
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            store = make_store(session, "BENCH")
            key = make_api_key(session, Role.HQ_OPERATOR)
            customers = [make_customer(session, store=store, name=f"顾客{n}",
                                       phone=f"1390000{n:04d}") for n in range(CUSTOMERS)]
            now = utcnow()
            template = CouponTemplate(name="满100减20", kind="threshold", threshold_fen=10_000,
                                      discount_fen=2_000, stock=coupons, issued=coupons,
                                      valid_days=30, scope={}, bundle_skus=[],
                                      created_at=now)
            session.add(template)
            session.flush()
            orders = [Order(source="bench", external_order_id=f"B-{n}",
                            customer_id=customers[n % CUSTOMERS].id, store_id=store.id,
                            status="paid", total_fen=15_000, paid_fen=15_000,
                            ordered_at=now, paid_at=now) for n in range(coupons)]
            session.add_all(orders)
            session.flush()
            session.add_all(OrderItem(order_id=order.id, sku="SKU-1", quantity=1,
                                      unit_price_fen=15_000, amount_fen=15_000)
                            for order in orders)
            codes = [new_code() for _ in range(coupons)]
            session.add_all(Coupon(code=code, template_id=template.id,
                                   customer_id=customers[n % CUSTOMERS].id,
                                   status="available", source="api", valid_from=now,
                                   valid_until=now + timedelta(days=30), claimed_at=now,
                                   discount_fen=0) for n, code in enumerate(codes))
            pairs = [(code, order.id) for code, order in zip(codes, orders, strict=True)]
    finally:
        engine.dispose()
    return key, pairs


def _run(url: str, key: str, clients: int, jobs: list[Callable[[httpx.Client], int]]
         ) -> tuple[float, list[float], dict[int, int]]:
    """Run the jobs from ``clients`` threads; (seconds, latencies in ms, status counts)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    local = threading.local()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    pool_clients: list[httpx.Client] = []

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=60, limits=limits,
                                        headers={"Authorization": f"Bearer {key}"})
            with lock:
                pool_clients.append(local.client)
        return local.client  # type: ignore[no-any-return]

    def one(job: Callable[[httpx.Client], int]) -> None:
        started = time.perf_counter()
        status = job(client())
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, jobs))
    seconds = time.perf_counter() - started
    for opened in pool_clients:
        opened.close()
    return seconds, latencies, statuses


def _redeem(code: str, order_id: int) -> Callable[[httpx.Client], int]:
    def job(client: httpx.Client) -> int:
        return client.post(f"/api/v1/coupons/{code}/redemptions",
                           json={"order_id": order_id, "idempotency_key": f"r-{code}"}
                           ).status_code
    return job


def _health(client: httpx.Client) -> int:
    return client.get("/healthz").status_code


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redemptions", type=int, default=12_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--single", type=int, default=500,
                        help="redemptions measured with one client")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (else one is started)")
    arguments = parser.parse_args()
    with ExitStack() as stack:
        base = arguments.postgres or stack.enter_context(postgres_server())
        database_url = create_database(base, "yutang_bench_offers")
        upgrade(database_url)
        seeded = time.perf_counter()
        key, pairs = _seed(database_url, arguments.redemptions + arguments.single + 200)
        print(f"seeded {len(pairs):,} coupons and orders in {time.perf_counter() - seeded:.1f} s"
              f"; server: yutang serve --workers {arguments.workers}; "
              f"{os.cpu_count()} CPUs", flush=True)
        url = stack.enter_context(yutang_server(database_url, arguments.workers))
        warm, single, loaded = (pairs[:200], pairs[200:200 + arguments.single],
                                pairs[200 + arguments.single:])
        _run(url, key, arguments.clients, [_redeem(*pair) for pair in warm])
        rows = []
        for label, clients, jobs in (
            ("redemptions, 1 client", 1, [_redeem(*pair) for pair in single]),
            (f"redemptions, {arguments.clients} clients", arguments.clients,
             [_redeem(*pair) for pair in loaded]),
            (f"GET /healthz, {arguments.clients} clients", arguments.clients,
             [_health] * len(loaded)),
        ):
            seconds, latencies, statuses = _run(url, key, clients, jobs)
            rows.append((label, len(jobs) / seconds, statistics.median(latencies),
                         _percentile(latencies, 0.99), statuses))
        print(f"{'':<32} {'per second':>11} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for label, rate, median, p99, statuses in rows:
            print(f"{label:<32} {rate:>11,.0f} {median:>8.1f} {p99:>8.1f}  {statuses}")


if __name__ == "__main__":
    main()
