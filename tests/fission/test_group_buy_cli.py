"""``yutang group-buy expire`` and ``yutang bargains expire`` on a database of their own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import TEST_DATA_KEY
from tests.fission.group_buy_support import SYSTEM, make_deal, make_shop
from yutang.cli import app
from yutang.config import get_settings
from yutang.fission import bargain, group_buy
from yutang.fission.bargain_schemas import BargainStart
from yutang.kit.clock import set_now_source
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade

runner = CliRunner()
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'group-buy-cli.db'}"
    monkeypatch.setenv("YUTANG_DATABASE_URL", url)
    monkeypatch.setenv("YUTANG_DATA_KEY", TEST_DATA_KEY)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def test_the_expiry_commands_refund_once_and_expire_bargains(cli_db: str) -> None:
    set_now_source(lambda: T0)
    engine = create_engine(cli_db)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            _, customers = make_shop(session, 3)
            deal = make_deal(session)
            team = group_buy.open_team(session, actor=SYSTEM, deal_id=deal.id,
                                       leader_customer_id=customers[0].id)
            group_buy.join_team(session, actor=SYSTEM, team_id=team.id,
                                customer_id=customers[1].id)
            bargain.start(session, actor=SYSTEM, data=BargainStart(
                customer_id=customers[2].id, product_sku="CAKE", list_price_fen=1_000,
                floor_price_fen=500, helps_needed=3, time_limit_minutes=30))
    finally:
        engine.dispose()
    early = runner.invoke(app, ["group-buy", "expire", "--now", "2026-12-01T10:30+08:00"])
    assert early.exit_code == 0, early.output
    assert "0 teams failed, 0 members refunded" in early.output
    first = runner.invoke(app, ["group-buy", "expire", "--now", "2026-12-01T11:01+08:00"])
    assert first.exit_code == 0, first.output
    assert "1 teams failed, 2 members refunded (19,800 fen)" in first.output
    second = runner.invoke(app, ["group-buy", "expire", "--now", "2026-12-01T11:05+08:00"])
    assert "0 teams failed, 0 members refunded (0 fen)" in second.output
    expired = runner.invoke(app, ["bargains", "expire", "--now", "2026-12-01T10:31+08:00"])
    assert "1 bargains expired" in expired.output
    naive = runner.invoke(app, ["bargains", "expire", "--now", "2026-12-01T10:31"])
    assert naive.exit_code != 0
