"""``yutang fission sweep`` on a database of its own: a first order the fast path missed is
found, and a second run finds nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import TEST_DATA_KEY
from tests.offers.support import make_customers, make_order, seed
from tests.support.factories import SYSTEM
from yutang.cli import app
from yutang.config import get_settings
from yutang.fission import referral_service
from yutang.fission.models import ReferralEdge
from yutang.fission.referral_schemas import ReferralCodeCreate, ReferralIn
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'fission-cli.db'}"
    monkeypatch.setenv("YUTANG_DATABASE_URL", url)
    monkeypatch.setenv("YUTANG_DATA_KEY", TEST_DATA_KEY)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def test_the_sweep_moves_a_missed_first_order_once(cli_db: str) -> None:
    engine = create_engine(cli_db)
    links = referral_service.ReferralLinks("http://test")
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            store, _, (referrer,) = seed(session, customers=1)
            (friend,) = make_customers(session, store, 1, prefix="1365555")
            code, _ = referral_service.create_code(
                session, actor=SYSTEM, data=ReferralCodeCreate(customer_id=referrer.id),
                links=links)
            referral_service.record_referral(session, actor=SYSTEM, data=ReferralIn(
                code=code.code, customer_id=friend.id, status="joined"))
            make_order(session, friend)  # written straight to the table: no signal at all
            friend_id = friend.id
    finally:
        engine.dispose()
    first = runner.invoke(app, ["fission", "sweep"])
    assert first.exit_code == 0, first.output
    assert "1 first orders" in first.output
    second = runner.invoke(app, ["fission", "sweep"])
    assert "0 orders read, 0 first orders" in second.output
    engine = create_engine(cli_db)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalars(select(ReferralEdge.status).where(
                ReferralEdge.referee_customer_id == friend_id)).one() == "first_order"
    finally:
        engine.dispose()
