"""The console's test button: a WeCom round trip through the simulator.

The simulator is started in-process (its API served on a free localhost port), checks the
callback URL like WeCom does when it is saved, then plays one customer adding a staff
member (``add_external_contact``) as a real signed and encrypted callback to yutang. The
outcome is what yutang answered and what it recorded.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from yutang.connectors.wecom.schemas import CorpKeys
from yutang.connectors.wecom.simulator import SimulatedCorp, WeComSimulator

SELFTEST_PREFIX = "wmselftest"


@dataclass(frozen=True)
class RoundTrip:
    simulator_url: str
    external_userid: str
    staff: str
    verify_status: int
    verify_ok: bool
    callback_status: int
    callback_answer: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(simulator: WeComSimulator) -> Iterator[str]:
    """The simulator's API on a free localhost port while the block runs."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(simulator.app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the WeCom simulator could not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def wecom_round_trip(*, keys: CorpKeys, callback_url: str, staff: str,
                     http: httpx.Client | None = None) -> RoundTrip:
    simulator = WeComSimulator(
        SimulatedCorp(corp_id=keys.corp_id, secret=keys.secret, token=keys.token,
                      encoding_aes_key=keys.encoding_aes_key, agent_id=keys.agent_id or "1"),
        callback_url=callback_url, callback_http=http or httpx.Client(timeout=8.0))
    external = SELFTEST_PREFIX + secrets.token_hex(6)
    with serving(simulator) as simulator_url:
        check = simulator.verify_url()
        added = simulator.customer_adds_staff(external_userid=external, staff=staff)
    return RoundTrip(simulator_url=simulator_url, external_userid=external, staff=staff,
                     verify_status=check.status_code, verify_ok=check.text == check.plaintext,
                     callback_status=added.status_code, callback_answer=added.text)
