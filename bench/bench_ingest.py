"""HTTP ingestion throughput: events/s in batches of 500 through ``POST /api/v1/events``
(idempotency on), on SQLite and PostgreSQL, printed side by side.

    python bench/bench_ingest.py [--events 100000] [--people 20000] [--postgres URL]

A server (``yutang serve``) is started per database. The pool is first warmed with one
event per person (each creates a customer: the OneID slow path); then the measured stream
sends events of known people, a share of them carrying a second identifier (a new link) —
the steady state of a running pool. Without --postgres, a throw-away PostgreSQL server is
started (initdb) as in the tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.live_server import free_port
from tests.support.postgres import create_database, postgres_server

DATA_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
BATCH = 500
WORKERS = 2


def _environment(database_url: str) -> dict[str, str]:
    return {**os.environ, "YUTANG_DATA_KEY": DATA_KEY, "YUTANG_DATABASE_URL": database_url}


@contextmanager
def _server(database_url: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "yutang", "serve", "--port", str(port), "--workers",
         str(WORKERS)],
        env=_environment(database_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _api_key(database_url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "yutang", "apikey", "create", "--name", "bench",
         "--role", "hq_operator"],
        env=_environment(database_url), capture_output=True, text=True, check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _event(number: int, people: int, bridge: bool) -> dict[str, Any]:
    person = number % people
    identities: dict[str, Any] = {"wechat_unionid": f"U-{person}"}
    if bridge:
        identities["wechat_openid"] = {"value": f"o-{person}", "scope": "wxbench"}
    return {"event_id": f"ev-{number}", "type": "view",
            "occurred_at": "2026-10-01T12:00:00+08:00", "identities": identities,
            "properties": {"page": "/item/42"}}


def _send(url: str, key: str, batches: list[list[dict[str, Any]]], clients: int) -> float:
    """Post the batches over ``clients`` keep-alive connections; the bodies are encoded
    before the clock starts (an integrator's encoding happens on its own machine)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [json.dumps({"events": batch}).encode() for batch in batches]
    local = threading.local()

    def post(body: bytes) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, headers=headers, timeout=120)
        response = local.client.post("/api/v1/events", content=body)
        response.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(post, bodies))
    return time.perf_counter() - started


def measure(database_url: str, events: int, people: int, clients: int) -> dict[str, float]:
    subprocess.run([sys.executable, "-m", "yutang", "db", "upgrade"],
                   env=_environment(database_url), check=True, capture_output=True)
    key = _api_key(database_url)
    warm = [_event(n, people, bridge=False) for n in range(people)]
    stream = [_event(people + n, people, bridge=n % 10 == 0) for n in range(events)]
    with _server(database_url) as url:
        warm_seconds = _send(url, key, [warm[i:i + BATCH] for i in range(0, people, BATCH)],
                             clients)
        seconds = _send(url, key, [stream[i:i + BATCH] for i in range(0, events, BATCH)],
                        clients)
        replay = _send(url, key, [stream[i:i + BATCH] for i in range(0, events, BATCH)],
                       clients)
    return {"new_people_per_s": people / warm_seconds, "events_per_s": events / seconds,
            "replay_per_s": events / replay}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--postgres", help="a PostgreSQL server URL to use (else one is started)")
    arguments = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results["SQLite"] = measure(f"sqlite:///{folder / 'bench.db'}", arguments.events,
                                    arguments.people, arguments.clients)
        base = arguments.postgres or stack.enter_context(postgres_server())
        results["PostgreSQL"] = measure(create_database(base, "yutang_bench_ingest"),
                                        arguments.events, arguments.people, arguments.clients)
    print(f"HTTP ingest, batches of {BATCH}, {arguments.clients} clients, idempotency on")
    print(f"{'database':<12}{'new people/s':>14}{'events/s':>12}{'replays/s':>12}")
    for name, figures in results.items():
        print(f"{name:<12}{figures['new_people_per_s']:>14,.0f}{figures['events_per_s']:>12,.0f}"
              f"{figures['replay_per_s']:>12,.0f}")


if __name__ == "__main__":
    main()
