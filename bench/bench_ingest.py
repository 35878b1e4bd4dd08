"""HTTP ingestion throughput: events/s in batches of 500 through ``POST /api/v1/events``
(idempotency on), on SQLite and PostgreSQL, printed side by side.

    python bench/bench_ingest.py [--events 100000] [--people 20000] [--postgres URL]

Two server processes (``yutang serve``) are started per database, and each client keeps to
one of them, as a load balancer would spread them (uvicorn's own ``--workers`` share one
socket, and two kept-alive connections often land on the same worker). The pool is first
warmed with one event per person (each creates a customer: the OneID slow path); then the
measured stream sends events of known people, a share of them carrying a second identifier
(a new link) — the steady state of a running pool (on PostgreSQL the tables are analyzed
before each stream, as autovacuum keeps them in a running pool). Without --postgres, a
throw-away PostgreSQL server is started (initdb) as in the tests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from served import environment, yutang_server
from tests.support.postgres import create_database, postgres_server

BATCH = 500
PROCESSES = 2
"""Server processes (``yutang serve``), one per core; each client keeps to one."""


def _api_key(database_url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "yutang", "apikey", "create", "--name", "bench",
         "--role", "hq_operator"],
        env=environment(database_url), capture_output=True, text=True, check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _event(number: int, people: int, bridge: bool, run: int = 0) -> dict[str, Any]:
    person = number % people
    identities: dict[str, Any] = {"wechat_unionid": f"U-{person}"}
    if bridge:  # a new openid (of another mini-program in each run): a new link
        identities["wechat_openid"] = {"value": f"o-{person}", "scope": f"wxbench{run}"}
    return {"event_id": f"ev-{number}", "type": "view",
            "occurred_at": "2026-10-01T12:00:00+08:00", "identities": identities,
            "properties": {"page": "/item/42"}}


def _send(urls: list[str], key: str, batches: list[list[dict[str, Any]]],
          clients: int) -> float:
    """Post the batches from ``clients`` threads, each on a kept-alive connection to one of
    the server processes in turn (as a load balancer in front of them would); the bodies are
    encoded before the clock starts (an integrator's encoding happens on its own machine)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [json.dumps({"events": batch}).encode() for batch in batches]
    local = threading.local()
    assigned = itertools.count()

    def post(body: bytes) -> None:
        if not hasattr(local, "client"):
            url = urls[next(assigned) % len(urls)]
            local.client = httpx.Client(base_url=url, headers=headers, timeout=120)
        response = local.client.post("/api/v1/events", content=body)
        response.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(post, bodies))
    return time.perf_counter() - started


def measure(database_url: str, events: int, people: int, clients: int,
            runs: int) -> dict[str, list[float]]:
    """The warm-up once, then ``runs`` streams of new events, each followed by its replay."""
    subprocess.run([sys.executable, "-m", "yutang", "db", "upgrade"],
                   env=environment(database_url), check=True, capture_output=True)
    key = _api_key(database_url)
    warm = [_event(n, people, bridge=False) for n in range(people)]
    figures: dict[str, list[float]] = {"new_people_per_s": [], "events_per_s": [],
                                       "replay_per_s": []}
    with ExitStack() as servers:
        urls = [servers.enter_context(yutang_server(database_url, workers=1))
                for _ in range(PROCESSES)]
        warm_seconds = _send(urls, key, [warm[i:i + BATCH] for i in range(0, people, BATCH)],
                             clients)
        figures["new_people_per_s"].append(people / warm_seconds)
        for run in range(runs):
            _refresh_statistics(database_url)
            first = people + run * events
            stream = [_event(first + n, people, bridge=n % 10 == 0, run=run)
                      for n in range(events)]
            batches = [stream[i:i + BATCH] for i in range(0, events, BATCH)]
            figures["events_per_s"].append(events / _send(urls, key, batches, clients))
            figures["replay_per_s"].append(events / _send(urls, key, batches, clients))
    return figures


def _refresh_statistics(database_url: str) -> None:
    """PostgreSQL: ANALYZE, as autovacuum does for a running pool within a minute of a burst
    of growth (a bench's burst is shorter than that, and plans made from the statistics of
    empty tables scan whole tables). SQLite keeps no statistics unless asked, and is not."""
    if not database_url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as connection:
        connection.execute("ANALYZE")


def _cell(values: list[float]) -> str:
    """The median, and the range when there are several runs."""
    median = f"{statistics.median(values):,.0f}"
    if len(values) == 1:
        return median
    return f"{median} ({min(values):,.0f}–{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3,
                        help="streams per database; the median is printed, with the range")
    parser.add_argument("--postgres", help="a PostgreSQL server URL to use (else one is started)")
    arguments = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results["SQLite"] = measure(f"sqlite:///{folder / 'bench.db'}", arguments.events,
                                    arguments.people, arguments.clients, arguments.runs)
        base = arguments.postgres or stack.enter_context(postgres_server())
        results["PostgreSQL"] = measure(create_database(base, "yutang_bench_ingest"),
                                        arguments.events, arguments.people, arguments.clients,
                                        arguments.runs)
    print(f"HTTP ingest, batches of {BATCH}, {arguments.clients} clients, idempotency on; "
          f"events/s and replays/s: median of {arguments.runs} streams (range)")
    print(f"{'database':<12}{'new people/s':>14}{'events/s':>26}{'replays/s':>26}")
    for name, figures in results.items():
        print(f"{name:<12}{_cell(figures['new_people_per_s']):>14}"
              f"{_cell(figures['events_per_s']):>26}{_cell(figures['replay_per_s']):>26}")


if __name__ == "__main__":
    main()
