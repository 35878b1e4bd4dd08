"""Group-buy teams: seats, stock, success exactly when full, failure and refund exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fission.group_buy_support import SYSTEM, make_deal, make_shop, seat_invariants
from yutang.fission import group_buy
from yutang.fission.errors import (
    AlreadyInTeam,
    DealClosed,
    DealSoldOut,
    GroupBuyTeamNotFound,
    InvalidGroupBuyDeal,
    TeamClosed,
    TeamFull,
)
from yutang.fission.group_buy_models import GroupBuyRefund, GroupBuyTeamEvent
from yutang.fission.group_buy_schemas import GroupBuyDealCreate
from yutang.kit.clock import set_now_source
from yutang.pool.models import Order, OrderItem

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def at(moment: datetime) -> None:
    set_now_source(lambda: moment)


def group_buy_orders(db: Session) -> list[Order]:
    return list(db.scalars(select(Order).where(Order.source == "group_buy").order_by(Order.id)))


def test_a_leader_opens_a_team_and_pays_the_bait_price(db: Session) -> None:
    at(T0)
    store, (leader,) = make_shop(db, 1)
    deal = make_deal(db)
    team = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                               leader_customer_id=leader.id)
    assert (team.status, team.filled, team.team_size) == ("open", 1, 3)
    assert team.expires_at == T0 + timedelta(minutes=60)
    assert team.store_id == store.id
    (order,) = group_buy_orders(db)
    assert (order.customer_id, order.status, order.paid_fen, order.total_fen) == (
        leader.id, "paid", 9_900, 9_900)
    assert order.external_order_id == f"team-{team.id}-seat-1"
    item = db.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).one()
    assert (item.sku, item.unit_price_fen) == ("PHOTO-SET", 9_900)
    read = group_buy.team_read(db, actor=SYSTEM, team_id=team.id)
    assert [(m.customer_id, m.order_id, m.seat) for m in read.members] == [
        (leader.id, order.id, 1)]
    db.refresh(deal)
    assert deal.sold == 1
    seat_invariants(db)


def test_a_team_succeeds_exactly_when_it_fills_and_then_answers_team_full(db: Session) -> None:
    at(T0)
    _, customers = make_shop(db, 4)
    deal = make_deal(db)
    team = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                               leader_customer_id=customers[0].id)
    after_one = group_buy.join_team(db, actor=SYSTEM, team_id=team.id,
                                    customer_id=customers[1].id)
    assert (after_one.status, after_one.filled, after_one.succeeded_at) == ("open", 2, None)
    at(T0 + timedelta(minutes=5))
    full = group_buy.join_team(db, actor=SYSTEM, team_id=team.id,
                               customer_id=customers[2].id)
    assert (full.status, full.filled) == ("succeeded", 3)
    assert full.succeeded_at == T0 + timedelta(minutes=5)
    with pytest.raises(TeamFull), db.begin_nested():
        group_buy.join_team(db, actor=SYSTEM, team_id=team.id, customer_id=customers[3].id)
    assert len(group_buy_orders(db)) == 3  # the refused customer paid nothing
    kinds = db.scalars(select(GroupBuyTeamEvent.kind).where(
        GroupBuyTeamEvent.team_id == team.id).order_by(GroupBuyTeamEvent.id)).all()
    assert kinds == ["opened", "joined", "joined", "joined", "succeeded"]
    seat_invariants(db)


def test_joining_twice_or_after_the_time_limit_is_refused_and_changes_nothing(
        db: Session) -> None:
    at(T0)
    _, customers = make_shop(db, 3)
    deal = make_deal(db)
    team = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                               leader_customer_id=customers[0].id)
    with pytest.raises(AlreadyInTeam), db.begin_nested():
        group_buy.join_team(db, actor=SYSTEM, team_id=team.id, customer_id=customers[0].id)
    at(T0 + timedelta(minutes=60))
    with pytest.raises(TeamClosed), db.begin_nested():
        group_buy.join_team(db, actor=SYSTEM, team_id=team.id, customer_id=customers[1].id)
    assert len(group_buy_orders(db)) == 1
    assert group_buy.get_team(db, team_id=team.id).filled == 1
    with pytest.raises(GroupBuyTeamNotFound), db.begin_nested():
        group_buy.join_team(db, actor=SYSTEM, team_id=team.id + 10_000,
                            customer_id=customers[1].id)


def test_expiry_fails_overdue_teams_and_refunds_each_member_exactly_once(db: Session) -> None:
    at(T0)
    _, customers = make_shop(db, 8)
    deal = make_deal(db)
    failing = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                                  leader_customer_id=customers[0].id)
    group_buy.join_team(db, actor=SYSTEM, team_id=failing.id, customer_id=customers[1].id)
    filled = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                                 leader_customer_id=customers[2].id)
    for customer in customers[3:5]:
        group_buy.join_team(db, actor=SYSTEM, team_id=filled.id, customer_id=customer.id)
    at(T0 + timedelta(minutes=30))
    later = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                                leader_customer_id=customers[5].id)
    expiry = T0 + timedelta(minutes=61)

    first = group_buy.expire_teams(db, now=expiry)
    assert (first.teams_failed, first.members_refunded, first.refunded_fen) == (1, 2, 19_800)
    second = group_buy.expire_teams(db, now=expiry + timedelta(minutes=5))
    assert (second.teams_failed, second.members_refunded, second.refunded_fen) == (0, 0, 0)

    statuses = {team_id: group_buy.get_team(db, team_id=team_id).status
                for team_id in (failing.id, filled.id, later.id)}
    assert statuses == {failing.id: "failed", filled.id: "succeeded", later.id: "open"}
    read = group_buy.team_read(db, actor=SYSTEM, team_id=failing.id)
    assert read.failed_at == expiry
    failed_orders = [member.order_id for member in read.members]
    for order in group_buy_orders(db):
        db.refresh(order)
        if order.id in failed_orders:
            assert (order.status, order.refunded_at) == ("refunded", expiry)
        else:
            assert (order.status, order.refunded_at) == ("paid", None)
    refunds = db.scalars(select(GroupBuyRefund)).all()
    assert sorted(refund.order_id for refund in refunds) == sorted(failed_orders)
    assert all(refund.amount_fen == 9_900 for refund in refunds)
    assert [member.refunded_at for member in read.members] == [expiry, expiry]
    db.refresh(deal)
    assert deal.sold == 4  # the failed team's two seats came back
    seat_invariants(db)


def test_stock_is_never_oversold_and_a_failed_team_gives_its_seats_back(db: Session) -> None:
    at(T0)
    _, customers = make_shop(db, 6)
    deal = make_deal(db, stock=4)
    first = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                                leader_customer_id=customers[0].id)
    for customer in customers[1:3]:
        group_buy.join_team(db, actor=SYSTEM, team_id=first.id, customer_id=customer.id)
    second = group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                                 leader_customer_id=customers[3].id)
    with pytest.raises(DealSoldOut), db.begin_nested():
        group_buy.join_team(db, actor=SYSTEM, team_id=second.id, customer_id=customers[4].id)
    with pytest.raises(DealSoldOut), db.begin_nested():
        group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id,
                            leader_customer_id=customers[5].id)
    assert group_buy.get_team(db, team_id=second.id).filled == 1
    assert len(group_buy_orders(db)) == 4
    group_buy.expire_teams(db, now=T0 + timedelta(hours=2))
    db.refresh(deal)
    assert deal.sold == 3
    seat_invariants(db)


def test_a_closed_deal_opens_no_team_and_a_bad_threshold_is_refused(db: Session) -> None:
    at(T0)
    _, (leader,) = make_shop(db, 1)
    deal = make_deal(db)
    group_buy.close_deal(db, actor=SYSTEM, deal_id=deal.id)
    with pytest.raises(DealClosed), db.begin_nested():
        group_buy.open_team(db, actor=SYSTEM, deal_id=deal.id, leader_customer_id=leader.id)
    with pytest.raises(InvalidGroupBuyDeal), db.begin_nested():
        group_buy.create_deal(db, actor=SYSTEM, data=GroupBuyDealCreate(
            product_sku="X", bait_price_fen=9_900, list_price_fen=150_000, team_size=3,
            time_limit_minutes=60, stock=10, full_order_threshold_fen=9_900))
    assert db.scalar(select(func.count()).select_from(Order)) == 0
