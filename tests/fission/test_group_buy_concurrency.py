"""The must-show on real SQLite files and real PostgreSQL, with threads each in its own
transaction: 50 concurrent joins into a 3-seat team seat exactly 2 beside the leader and
answer ``team_full`` to the other 48; the expiry job run twice at once, then once more,
refunds each failed team's members exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fission.group_buy_support import SYSTEM, make_deal, make_shop, seat_invariants
from yutang.fission import group_buy
from yutang.fission.group_buy_models import GroupBuyMember, GroupBuyRefund, GroupBuyTeam
from yutang.kit.clock import set_now_source
from yutang.kit.db import (
    create_engine,
    make_session_factory,
    run_in_transaction,
    unit_of_work,
    writer_engine,
)
from yutang.kit.errors import DomainError
from yutang.pool.models import Order

pytestmark = pytest.mark.slow

T = TypeVar("T")
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
THREADS = 16


@pytest.fixture
def database(fresh_database_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_database_url, pool_size=THREADS, max_overflow=4)
    try:
        yield engine
    finally:
        engine.dispose()


def writers(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(writer_engine(engine))


def outcome(factory: sessionmaker[Session], work: Callable[[Session], object]) -> str:
    try:
        run_in_transaction(factory, work)
    except DomainError as error:
        return error.code
    return "joined"


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_50_concurrent_joins_of_a_3_seat_team_seat_exactly_2(database: Engine) -> None:
    set_now_source(lambda: T0)
    factory = writers(database)
    with unit_of_work(factory) as session:
        _, customers = make_shop(session, 51)
        deal = make_deal(session, team_size=3, stock=1_000)
        team = group_buy.open_team(session, actor=SYSTEM, deal_id=deal.id,
                                   leader_customer_id=customers[0].id)
        team_id, joiners = team.id, [customer.id for customer in customers[1:]]

    def join(customer_id: int) -> Callable[[], str]:
        return lambda: outcome(factory, lambda session: group_buy.join_team(
            session, actor=SYSTEM, team_id=team_id, customer_id=customer_id))

    outcomes = Counter(all_at_once([join(customer_id) for customer_id in joiners]))
    assert outcomes == Counter({"joined": 2, "team_full": 48})
    with unit_of_work(factory) as session:
        stored = group_buy.get_team(session, team_id=team_id)
        assert (stored.status, stored.filled) == ("succeeded", 3)
        seats = session.scalars(select(GroupBuyMember.seat).where(
            GroupBuyMember.team_id == team_id).order_by(GroupBuyMember.seat)).all()
        assert seats == [1, 2, 3]
        assert session.scalar(select(func.count()).select_from(Order).where(
            Order.source == "group_buy")) == 3  # nobody refused paid anything
        seat_invariants(session)


def test_the_expiry_job_run_twice_at_once_and_again_refunds_each_member_once(
        database: Engine) -> None:
    set_now_source(lambda: T0)
    factory = writers(database)
    with unit_of_work(factory) as session:
        _, customers = make_shop(session, 40)
        deal = make_deal(session, team_size=5, stock=1_000)
        failing_members = 0
        for number in range(8):  # 8 teams of 5 seats, 1 to 4 members: all will fail
            group = customers[number * 5: number * 5 + 1 + number % 4]
            team = group_buy.open_team(session, actor=SYSTEM, deal_id=deal.id,
                                       leader_customer_id=group[0].id)
            for customer in group[1:]:
                group_buy.join_team(session, actor=SYSTEM, team_id=team.id,
                                    customer_id=customer.id)
            failing_members += len(group)
    expiry = T0 + timedelta(minutes=61)

    def expire() -> tuple[int, int]:
        result = run_in_transaction(factory, lambda session: group_buy.expire_teams(
            session, now=expiry))
        return result.teams_failed, result.members_refunded

    runs = all_at_once([expire, expire])
    assert sum(failed for failed, _ in runs) == 8
    assert sum(refunded for _, refunded in runs) == failing_members == 20
    assert expire() == (0, 0)

    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(GroupBuyTeam).where(
            GroupBuyTeam.status == "failed")) == 8
        assert session.scalar(select(func.count()).select_from(GroupBuyRefund)) == 20
        orders = session.scalars(select(Order).where(Order.source == "group_buy")).all()
        assert len(orders) == 20
        assert {(order.status, order.refunded_at) for order in orders} == {("refunded", expiry)}
        refunded_orders = session.scalars(select(GroupBuyRefund.order_id)).all()
        assert sorted(refunded_orders) == sorted(order.id for order in orders)
        seat_invariants(session)
