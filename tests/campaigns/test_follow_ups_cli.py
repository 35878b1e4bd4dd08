"""``yutang campaigns follow-ups``: the sweep from the shell creates each rule's tasks once."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.campaigns.support import approved_content, new_customer, new_store, order
from tests.support.cli_database import cli_database
from tests.support.factories import SYSTEM, make_user
from yutang.access.roles import Role
from yutang.campaigns import follow_ups
from yutang.campaigns.follow_ups_models import FollowUpKind, FollowUpTask
from yutang.campaigns.follow_ups_schemas import FollowUpRuleIn
from yutang.cli import app
from yutang.kit.clock import utcnow
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine, make_session_factory, unit_of_work

runner = CliRunner()
DATA_KEY = base64.urlsafe_b64encode(b"f" * 32).decode()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from cli_database(tmp_path, monkeypatch, "follow-ups-cli.db", DATA_KEY)


def test_the_sweep_creates_each_task_once(cli_db: str) -> None:
    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(DATA_KEY)))
    engine = create_engine(cli_db)
    with unit_of_work(make_session_factory(engine)) as session:
        shop = new_store(session)
        make_user(session, "cli_staff", Role.STAFF, shop)
        script = approved_content(session, body="{name}您好，回访一下")
        follow_ups.create_rule(session, actor=SYSTEM, data=FollowUpRuleIn(
            name="首单回访", kind=FollowUpKind.FIRST_ORDER, content_id=script.id, days=3,
            due_days=2))
        for days_ago in (3.05, 3.1, 1.0):  # two due, one not yet
            customer = new_customer(session, shop)
            order(session, customer, at=utcnow() - timedelta(days=days_ago))
    first = runner.invoke(app, ["campaigns", "follow-ups"])
    assert first.exit_code == 0, first.output
    assert "2 created, 0 without a staff member" in first.output
    again = runner.invoke(app, ["campaigns", "follow-ups"])
    assert "0 created" in again.output
    with unit_of_work(make_session_factory(engine)) as session:
        assert session.scalar(select(func.count()).select_from(FollowUpTask)) == 2
    engine.dispose()
