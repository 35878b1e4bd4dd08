"""``yutang offers regrade | reconcile --date | sweep`` on a database of their own."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.offers.support import key, make_customers, make_order
from tests.support.cli_database import cli_database
from tests.support.factories import SYSTEM, make_store
from yutang.cli import app
from yutang.kit.clock import to_local, utcnow
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.offers import service
from yutang.offers.schemas import MembershipTierCreate, TopUpIn

runner = CliRunner()
DATA_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from cli_database(tmp_path, monkeypatch, "offers-cli.db", DATA_KEY)


def test_regrade_reconcile_and_sweep(cli_db: str) -> None:
    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(DATA_KEY)))
    engine = create_engine(cli_db)
    with unit_of_work(make_session_factory(engine)) as session:
        store = make_store(session, "CLI1")
        (customer,) = make_customers(session, store, 1)
        service.create_tier(session, actor=SYSTEM, data=MembershipTierCreate(
            idempotency_key=key(), code="gold", name="金卡", rank=1, min_spend_fen=10_000))
        make_order(session, customer, total_fen=20_000, store=store)
        service.top_up(session, actor=SYSTEM, customer_id=customer.id,
                       data=TopUpIn(idempotency_key=key(), amount_fen=5_000))
    engine.dispose()

    regraded = runner.invoke(app, ["offers", "regrade"])
    assert regraded.exit_code == 0, regraded.output
    assert "1 members graded: 1 changed" in regraded.output
    today = to_local(utcnow()).date().isoformat()
    reconciled = runner.invoke(app, ["offers", "reconcile", "--date", today])
    assert reconciled.exit_code == 0, reconciled.output
    assert "customer liabilities 5,000 fen = merchant side 5,000 fen" in reconciled.output
    assert "reconciled" in reconciled.output
    before = (to_local(utcnow()) - timedelta(days=3)).date().isoformat()
    earlier = runner.invoke(app, ["offers", "reconcile", "--date", before])
    assert "customer liabilities 0 fen" in earlier.output
    bad = runner.invoke(app, ["offers", "reconcile", "--date", "01/12/2026"])
    assert bad.exit_code == 2 and "invalid_reconciliation_date" in bad.output
    swept = runner.invoke(app, ["offers", "sweep"])
    assert swept.exit_code == 0, swept.output
    assert "0 coupons expired" in swept.output
