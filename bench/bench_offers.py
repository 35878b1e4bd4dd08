"""Coupon redemptions over HTTP on PostgreSQL: redemptions/s and latency percentiles under
64 concurrent connections, closed loop and open loop, beside two baselines of the same run:

- ``1 client``: the same endpoint, one request at a time (the latency floor);
- ``GET /healthz``: the web stack alone under the same 64 connections (no database, no
  work): the ceiling the framework and this machine allow.

The two standard measurements:

- **closed loop**: each of the 64 connections sends its next request when the previous one
  has answered; throughput and latency percentiles;
- **open loop**: requests are scheduled at a fixed offered rate (``--rates``, spread over the
  64 connections) and latency is measured from each request's *scheduled* time, so time
  spent queued behind a slow answer counts (no coordinated omission); the achieved rate
  says whether the server kept up.

Every redemption is a different coupon against a different order (each coupon redeemed
once), through ``POST /api/v1/coupons/{code}/redemptions`` with its idempotency key:
authentication, the idempotency record, the order's row lock, the benefit computation, the
conditional ``available → redeemed`` UPDATE and the coupon's timeline row.

The client is a minimal HTTP/1.1 client on asyncio streams (keep-alive, one request in
flight per connection) in a process of its own (``--client-cpu`` pins it to a CPU), so the
client costs little and is not the server's bottleneck. Two ``yutang serve`` processes serve
(one per core), each connection keeping to one of them as a load balancer would spread them
(see bench_ingest.py: uvicorn's own workers share one socket unevenly). The CPU time the
servers, PostgreSQL and the client used per request is printed with each row.

    python bench/bench_offers.py [--redemptions 8000] [--rates 1000 100] [--open 8000]
                                 [--open-seconds 15] [--connections 64] [--servers 2]
                                 [--client-cpu N] [--postgres URL]

Without --postgres a throw-away PostgreSQL server is started (initdb), as in the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from served import DATA_KEY, yutang_server
from tests.support.postgres import create_database, postgres_server

CUSTOMERS = 1_000
WARM = 300
TICKS = os.sysconf("SC_CLK_TCK")


# --- the database --------------------------------------------------------------------------


def _seed(database_url: str, coupons: int) -> tuple[str, list[tuple[str, int]]]:
    """An API key, customers, one template, and ``coupons`` (coupon, order) pairs; then
    ANALYZE (a database in service has statistics)."""
    import psycopg
    from tests.support.factories import make_api_key, make_customer, make_store

    from yutang.access.roles import Role
    from yutang.kit.clock import utcnow
    from yutang.kit.crypto import DataProtector, configure_protector
    from yutang.kit.db import create_engine, make_session_factory, unit_of_work
    from yutang.offers.coupons import new_code
    from yutang.offers.models import Coupon, CouponTemplate
    from yutang.pool.models import Order, OrderItem

    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(DATA_KEY)))
    engine = create_engine(database_url)
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
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("ANALYZE")
    return key, pairs


# --- CPU accounting from /proc -------------------------------------------------------------


def _processes() -> dict[int, tuple[int, float, list[str]]]:
    """pid → (parent pid, CPU seconds, command line) of every process we may read."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                command = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        # own time and that of reaped children: PostgreSQL's backends that exit (a pool's
        # overflow connections) are counted in the postmaster's then
        cpu = sum(int(value) for value in fields[11:15]) / TICKS
        found[int(name)] = (int(fields[1]), cpu, command)
    return found


def _listeners(port: int, processes: dict[int, tuple[int, float, list[str]]]) -> list[int]:
    """The processes started with ``--port PORT`` or ``-p PORT`` (the servers, PostgreSQL)."""
    wanted = str(port)
    return [pid for pid, (_, _, command) in processes.items()
            if any(flag in ("--port", "-p") and value == wanted
                   for flag, value in itertools.pairwise(command))]


def _tree_cpu(roots: Sequence[int]) -> float:
    """CPU seconds of the processes and their children (one level: a server's workers,
    PostgreSQL's backends)."""
    processes = _processes()
    return sum(cpu for pid, (parent, cpu, _) in processes.items()
               if pid in roots or parent in roots)


def _load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


# --- the client (its own process) ----------------------------------------------------------


@dataclass
class Phase:
    """What one client phase sends: requests (method, path, body) spread over connections;
    ``rate`` None: closed loop, else the offered rate of an open loop."""

    servers: list[tuple[str, int]]
    key: str
    requests: list[tuple[str, str, bytes]]
    connections: int
    rate: float | None = None


@dataclass
class Result:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    client_cpu: float = 0.0


class Connection:
    """One kept-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, method: str, path: str, body: bytes) -> int:
        assert self.reader is not None and self.writer is not None
        extra = (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                 if body else "")
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode()
                          + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while size := int((await self.reader.readline()).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        elif length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _run_phase(phase: Phase) -> Result:
    connections = [Connection(*phase.servers[number % len(phase.servers)], phase.key)
                   for number in range(phase.connections)]
    await asyncio.gather(*(connection.open() for connection in connections))
    result = Result(seconds=0.0)
    latencies, statuses = result.latencies_ms, result.statuses
    # request n goes to connection n % connections, in order
    queues = [phase.requests[number::phase.connections] for number in range(phase.connections)]
    interval = None if phase.rate is None else 1.0 / phase.rate
    clock = time.perf_counter
    started = clock() + 0.05

    async def drive(number: int) -> None:
        connection = connections[number]
        for sequence, (method, path, body) in enumerate(queues[number]):
            if interval is None:
                due = clock()
            else:  # request n is due at start + n / rate, whatever the answers before it
                due = started + (sequence * phase.connections + number) * interval
                delay = due - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            status = await connection.send(method, path, body)
            latencies.append((clock() - due) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    cpu = time.process_time()
    if interval is not None:
        await asyncio.sleep(max(0.0, started - clock()))
    else:
        started = clock()
    await asyncio.gather(*(drive(number) for number in range(phase.connections)))
    result.seconds = clock() - started
    result.client_cpu = time.process_time() - cpu
    for connection in connections:
        connection.close()
    return result


def _client_phase(phase: Phase, cpu: int | None) -> Result:
    """Run in the client process (pinned to ``cpu`` if given)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        import uvloop

        return uvloop.run(_run_phase(phase))
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(_run_phase(phase))


# --- the bench -----------------------------------------------------------------------------


def _redemptions(pairs: Sequence[tuple[str, int]]) -> list[tuple[str, str, bytes]]:
    return [("POST", f"/api/v1/coupons/{code}/redemptions",
             json.dumps({"order_id": order_id, "idempotency_key": f"r-{code}"}).encode())
            for code, order_id in pairs]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--redemptions", type=int, default=8_000,
                        help="redemptions of the closed-loop run")
    parser.add_argument("--open", type=int, default=8_000,
                        help="most redemptions of an open-loop run")
    parser.add_argument("--open-seconds", type=float, default=15.0,
                        help="an open-loop run offers at most this many seconds of requests")
    parser.add_argument("--rates", type=float, nargs="+", default=[1_000.0, 100.0],
                        help="offered rates of the open-loop runs, per second")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--servers", type=int, default=2, help="yutang serve processes")
    parser.add_argument("--single", type=int, default=500,
                        help="redemptions measured with one connection")
    parser.add_argument("--client-cpu", type=int, help="pin the client process to this CPU")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (else one is started)")
    arguments = parser.parse_args()
    with ExitStack() as stack:
        base = arguments.postgres or stack.enter_context(postgres_server())
        database_url = create_database(base, "yutang_bench_offers")
        from yutang.migrate import upgrade

        upgrade(database_url)
        seeded = time.perf_counter()
        opened = [min(arguments.open, int(rate * arguments.open_seconds))
                  for rate in arguments.rates]
        total = WARM + arguments.single + arguments.redemptions + sum(opened)
        key, pairs = _seed(database_url, total)
        print(f"seeded {len(pairs):,} coupons and orders in {time.perf_counter() - seeded:.1f} s;"
              f" {arguments.servers} × yutang serve; {os.cpu_count()} CPUs; "
              f"load average {_load()}", flush=True)
        urls = [stack.enter_context(yutang_server(database_url, workers=1))
                for _ in range(arguments.servers)]
        servers = [(str(urlsplit(url).hostname), int(urlsplit(url).port or 80))
                   for url in urls]
        processes = _processes()
        server_pids = [pid for _, port in servers for pid in _listeners(port, processes)]
        postgres_pids = _listeners(int(urlsplit(base).port or 5432), processes)
        client = stack.enter_context(ProcessPoolExecutor(1, mp_context=get_context("spawn")))
        cuts = list(itertools.accumulate(
            [WARM, arguments.single, arguments.redemptions, *opened]))
        warm, single, closed = pairs[:cuts[0]], pairs[cuts[0]:cuts[1]], pairs[cuts[1]:cuts[2]]
        open_runs = [(rate, pairs[start:end]) for rate, start, end in
                     zip(arguments.rates, cuts[2:-1], cuts[3:], strict=True)]
        health = [("GET", "/healthz", b"")] * arguments.redemptions
        connections = arguments.connections

        def phase(requests: list[tuple[str, str, bytes]], count: int,
                  rate: float | None = None) -> tuple[Result, float, float]:
            servers_cpu, postgres_cpu = _tree_cpu(server_pids), _tree_cpu(postgres_pids)
            result = client.submit(_client_phase, Phase(servers, key, requests, count, rate),
                                   arguments.client_cpu).result()
            return (result, _tree_cpu(server_pids) - servers_cpu,
                    _tree_cpu(postgres_pids) - postgres_cpu)

        phase(_redemptions(warm[:100]) + health[:2_000], connections)  # warm both servers
        phase(_redemptions(warm[100:]), connections)
        rows = [
            ("redemptions, 1 connection", phase(_redemptions(single), 1)),
            (f"redemptions, {connections} conn., closed loop",
             phase(_redemptions(closed), connections)),
            *((f"redemptions, {connections} conn., open loop {rate:,.0f}/s",
               phase(_redemptions(run), connections, rate)) for rate, run in open_runs),
            (f"GET /healthz, {connections} conn., closed loop", phase(health, connections)),
        ]
        print(f"{'':<42}{'done/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
              f"   CPU ms per request: servers, PostgreSQL, client   statuses")
        for label, (result, servers_cpu, postgres_cpu) in rows:
            count = len(result.latencies_ms)
            values = result.latencies_ms
            print(f"{label:<42}{count / result.seconds:>8,.0f}"
                  f"{statistics.median(values):>9.1f}{_percentile(values, 0.9):>9.1f}"
                  f"{_percentile(values, 0.99):>9.1f}{max(values):>9.1f}"
                  f"   {servers_cpu * 1000 / count:>6.2f} {postgres_cpu * 1000 / count:>6.2f} "
                  f"{result.client_cpu * 1000 / count:>6.2f}"
                  f"{'':>27}{result.statuses}")
        print(f"load average at the end {_load()}")


if __name__ == "__main__":
    main()
