"""Must show: a sender killed (SIGKILL) in the middle of a send resumes without sending anyone
the same delivery twice — counted by the messages the WeCom simulator received over HTTP.
Personalised content is one mass-send task per customer; shared content goes out in tasks of
a whole batch (4 here), so the one task in flight when the sender died is up to 4 outcomes
unknown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from tests.campaigns.conftest import CORP
from tests.campaigns.support import approved_content, campaign, new_customer, new_store, segment
from tests.conftest import TEST_DATA_KEY
from tests.support.factories import SYSTEM
from tests.support.live_server import free_port
from yutang.campaigns.models import Delivery
from yutang.campaigns.schedule import local_at
from yutang.connectors.wecom import service as wecom_service
from yutang.connectors.wecom.schemas import CorpConfigIn
from yutang.connectors.wecom.simulator import WeComSimulator
from yutang.kit.clock import to_local, utcnow
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.pool.models import Identity, IdentityKind

pytestmark = pytest.mark.slow

CUSTOMERS = 60


@contextmanager
def _served(simulator: WeComSimulator) -> Iterator[str]:
    @simulator.app.middleware("http")
    async def slow(request: Any, call_next: Any) -> Any:  # a call takes a while, as WeCom's do
        await asyncio.sleep(0.03)
        return await call_next(request)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(simulator.app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _last_noon() -> datetime:
    """The last 12:00 Asia/Shanghai before now: due, and outside quiet hours."""
    now = utcnow()
    noon = local_at(to_local(now).date(), "12:00")
    return noon if noon <= now else noon - timedelta(days=1)


def _sender(database_url: str, base_url: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "YUTANG_DATA_KEY": TEST_DATA_KEY,
                   "YUTANG_DATABASE_URL": database_url, "YUTANG_WECOM_BASE_URL": base_url}
    return subprocess.Popen([sys.executable, "-m", "yutang", "campaigns", "run", "--once",
                             "--batch-size", "4", "--lease-seconds", "2"],
                            env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _targets_received(simulator: WeComSimulator) -> int:
    return sum(len(task.external_userids) for task in simulator.tasks)


@pytest.mark.parametrize(("body", "per_task"), [("{name}您好，{store}本周新品到店", 1),
                                                ("本周新品到店，欢迎光临", 4)],
                         ids=["personalised", "shared"])
def test_a_killed_sender_resumes_without_sending_anything_twice(
        fresh_database_url: str, body: str, per_task: int) -> None:
    engine = create_engine(fresh_database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        wecom_service.configure_corp(session, actor=SYSTEM, data=CorpConfigIn(
            corp_id=CORP.corp_id, token=CORP.token, encoding_aes_key=CORP.encoding_aes_key,
            secret=CORP.secret, agent_id=CORP.agent_id))
        store = new_store(session)
        customers = [new_customer(session, store) for _ in range(CUSTOMERS)]
        externals = {str(value) for value in session.scalars(select(Identity.value).where(
            Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value,
            Identity.customer_id.in_([customer.id for customer in customers])))}
        sale = campaign(session, segment_id=segment(session, {
            "field": "store", "op": "eq", "value": store.id}).id,
            send_at=_last_noon(), holdout_share=0.0,
            content_id=approved_content(session, body).id)
        campaign_id = sale.id
    simulator = WeComSimulator(CORP)
    for external in externals:
        simulator.add_customer(external)

    with _served(simulator) as base_url:
        first = _sender(fresh_database_url, base_url)
        deadline = time.monotonic() + 120
        while _targets_received(simulator) < 15 and first.poll() is None:
            assert time.monotonic() < deadline, "the sender sent nothing"
            time.sleep(0.01)
        assert first.poll() is None
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        received_before = _targets_received(simulator)
        assert 15 <= received_before < CUSTOMERS  # killed mid-run
        assert {len(task.external_userids) for task in simulator.tasks} == {per_task}
        time.sleep(2.5)  # the dead sender's lease runs out
        second = _sender(fresh_database_url, base_url)
        _, stderr = second.communicate(timeout=300)
        assert second.returncode == 0, stderr.decode()

    received = Counter(target for task in simulator.tasks for target in task.external_userids)
    assert set(received.values()) == {1}  # nobody received anything twice
    with unit_of_work(factory) as session:
        fates = Counter((row.status, row.reason) for row in session.scalars(
            select(Delivery).where(Delivery.campaign_id == campaign_id)))
    engine.dispose()
    sent = fates[("sent", None)]
    unknown = fates[("failed", "outcome_unknown")]
    assert sent + unknown == CUSTOMERS and unknown <= per_task  # the one task in flight
    assert len(received) in (sent, sent + unknown)
    assert set(received) <= externals
