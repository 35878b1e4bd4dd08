"""``yutang demo --wecom-sim``: the demo merchant is served while the WeCom simulator plays
customers arriving through the demo's channel codes as real encrypted callbacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.conftest import TEST_DATA_KEY
from tests.support.live_server import free_port
from yutang.connectors.wecom.models import WeComCallback, WeComContact, WeComCorp
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.pool.models import ChannelCode, Touch

ARRIVALS = 4


def test_the_demo_with_the_simulator_shows_customers_arriving_through_its_codes(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    port, simulator_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "yutang", "demo", "--customers", "600", "--stores", "2",
         "--db", url, "--port", str(port), "--wecom-sim", "--wecom-sim-port",
         str(simulator_port), "--arrivals", str(ARRIVALS), "--arrival-interval", "0.05"],
        env={**os.environ, "YUTANG_DATA_KEY": TEST_DATA_KEY},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        contacts = _wait_for_contacts(url, process, ARRIVALS)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert contacts == ARRIVALS, output
    assert "URL verification 200 ok" in output
    engine = create_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        corps = session.scalars(select(WeComCorp.corp_id)).all()
        assert corps == ["wwyutangdemo0001"]
        assert session.scalar(select(func.count()).select_from(WeComCallback).where(
            WeComCallback.outcome == "partly_rejected")) == 0
        states = set(session.scalars(select(ChannelCode.state)))
        arrived = session.execute(select(Touch.kind, ChannelCode.state).join(
            ChannelCode, ChannelCode.id == Touch.code_id).where(Touch.kind == "add_contact")).all()
        # every arrival added staff through one of the demo's own channel codes
        assert len(arrived) == ARRIVALS and {state for _, state in arrived} <= states
    engine.dispose()


def _wait_for_contacts(url: str, process: subprocess.Popen[bytes], wanted: int) -> int:
    deadline = time.monotonic() + 240
    found = 0
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(1)
        engine = create_engine(url)
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                found = int(session.scalar(select(func.count()).select_from(WeComContact))
                            or 0)
        except OperationalError:  # the demo is still creating the schema
            found = 0
        finally:
            engine.dispose()
        if found >= wanted:
            time.sleep(1)  # let the scenario's last group join/leave land
            return found
    return found
