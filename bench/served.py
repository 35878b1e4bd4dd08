"""A ``yutang serve`` process for the HTTP benches, with a fixed data key."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.live_server import free_port

DATA_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()


def environment(database_url: str) -> dict[str, str]:
    return {**os.environ, "YUTANG_DATA_KEY": DATA_KEY, "YUTANG_DATABASE_URL": database_url}


@contextmanager
def yutang_server(database_url: str, workers: int) -> Iterator[str]:
    """The server's base URL once ``/healthz`` answers; stopped (SIGTERM) afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "yutang", "serve", "--port", str(port), "--workers",
         str(workers)],
        env=environment(database_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
