"""Concurrent helps on real SQLite files and real PostgreSQL: never more than the helps
needed, never below the floor, one help per friend even when a friend taps many times."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.fission.group_buy_support import SYSTEM, make_shop
from yutang.fission import bargain as bargains
from yutang.fission.bargain_models import BargainHelp
from yutang.fission.bargain_schemas import BargainStart
from yutang.kit.clock import set_now_source
from yutang.kit.db import (
    create_engine,
    make_session_factory,
    run_in_transaction,
    unit_of_work,
    writer_engine,
)
from yutang.kit.errors import DomainError

pytestmark = pytest.mark.slow

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
THREADS = 16


@pytest.fixture
def database(fresh_database_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_database_url, pool_size=THREADS, max_overflow=4)
    try:
        yield engine
    finally:
        engine.dispose()


def test_concurrent_helps_stop_at_the_helps_needed_and_the_floor(database: Engine) -> None:
    set_now_source(lambda: T0)
    factory = make_session_factory(writer_engine(database))
    with unit_of_work(factory) as session:
        _, customers = make_shop(session, 31)
        bargain_id = bargains.start(session, actor=SYSTEM, data=BargainStart(
            customer_id=customers[0].id, product_sku="CAKE-6", list_price_fen=19_900,
            floor_price_fen=9_900, helps_needed=10, time_limit_minutes=60, seed=11)).id
        friends = [customer.id for customer in customers[1:]]

    def help_once(customer_id: int) -> str:
        def work(session: Session) -> None:
            bargains.help_bargain(session, actor=SYSTEM, bargain_id=bargain_id,
                                  customer_id=customer_id)
        try:
            run_in_transaction(factory, work)
        except DomainError as error:
            return error.code
        return "helped"

    taps = [friend for friend in friends for _ in range(2)]  # every friend taps twice
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(pool.map(help_once, taps))
    assert outcomes["helped"] == 10
    assert outcomes["helped"] + outcomes["already_helped"] + outcomes["bargain_completed"] == 60
    with unit_of_work(factory) as session:
        read = bargains.bargain_read(session, actor=SYSTEM, bargain_id=bargain_id)
        assert (read.status, read.helps_done, read.current_price_fen) == (
            "completed", 10, 9_900)
        helps = session.scalars(select(BargainHelp).where(
            BargainHelp.bargain_id == bargain_id).order_by(BargainHelp.sequence)).all()
        assert [help.sequence for help in helps] == list(range(1, 11))
        assert len({help.customer_id for help in helps}) == 10
        assert [help.cut_fen for help in helps] == bargains.draw_cuts(10_000, 10, 11)
