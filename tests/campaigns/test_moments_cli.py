"""``yutang campaigns moments-expire``: posts still pending past the due time expire once; a
posted one and a task not yet due are left as they are."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.campaigns.support import new_store
from tests.support.cli_database import cli_database
from tests.support.factories import SYSTEM, make_user
from yutang.access.roles import Role
from yutang.access.service import principal_for_user
from yutang.campaigns import moments
from yutang.campaigns.moments_models import MomentPost
from yutang.campaigns.moments_schemas import MomentTaskIn
from yutang.cli import app
from yutang.kit.clock import utcnow
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine, make_session_factory, unit_of_work

runner = CliRunner()
DATA_KEY = base64.urlsafe_b64encode(b"m" * 32).decode()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from cli_database(tmp_path, monkeypatch, "moments-cli.db", DATA_KEY)


def test_the_sweep_expires_each_overdue_post_once(cli_db: str) -> None:
    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(DATA_KEY)))
    engine = create_engine(cli_db)
    created = utcnow() - timedelta(days=3)
    with unit_of_work(make_session_factory(engine)) as session:
        shop = new_store(session)
        staff = [make_user(session, f"cli_moments{number}", Role.STAFF, shop)
                 for number in range(3)]
        overdue = moments.create_task(session, actor=SYSTEM, now=created, data=MomentTaskIn(
            title="上周的任务", body="{store}上新", all_stores=True,
            due_at=utcnow() - timedelta(days=1)))
        moments.mark_posted(session, actor=principal_for_user(staff[0]), task_id=overdue.id,
                            now=created + timedelta(hours=1))
        upcoming = moments.create_task(session, actor=SYSTEM, data=MomentTaskIn(
            title="明天的任务", body="{store}上新", all_stores=True,
            due_at=utcnow() + timedelta(days=1)))
        overdue_id, upcoming_id = overdue.id, upcoming.id
    first = runner.invoke(app, ["campaigns", "moments-expire"])
    assert first.exit_code == 0, first.output
    assert "2 Moments post(s) expired" in first.output
    again = runner.invoke(app, ["campaigns", "moments-expire"])
    assert "0 Moments post(s) expired" in again.output
    with unit_of_work(make_session_factory(engine)) as session:
        counts = Counter((task_id, status) for task_id, status in session.execute(
            select(MomentPost.task_id, MomentPost.status)))
    assert counts == {(overdue_id, "posted"): 1, (overdue_id, "expired"): 2,
                      (upcoming_id, "pending"): 3}
    engine.dispose()
