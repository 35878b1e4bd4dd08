"""Bargains: cuts that sum exactly to the gap, one help per friend, no self-help, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fission.group_buy_support import SYSTEM, make_shop
from yutang.fission import bargain as bargains
from yutang.fission.bargain_models import BargainHelp
from yutang.fission.bargain_schemas import BargainStart
from yutang.fission.errors import (
    AlreadyHelped,
    BargainCompleted,
    BargainExpired,
    CannotHelpOwnBargain,
    InvalidBargain,
)
from yutang.kit.clock import set_now_source

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@given(gap=st.integers(1, 10**9), helps=st.integers(1, 300), seed=st.integers(0, 2**62))
@settings(max_examples=300, deadline=None)
def test_the_cuts_sum_exactly_to_the_gap_and_each_is_at_least_one_fen(
        gap: int, helps: int, seed: int) -> None:
    if gap < helps:
        with pytest.raises(InvalidBargain):
            bargains.draw_cuts(gap, helps, seed)
        return
    cuts = bargains.draw_cuts(gap, helps, seed)
    assert len(cuts) == helps
    assert sum(cuts) == gap
    assert min(cuts) >= 1
    assert cuts == bargains.draw_cuts(gap, helps, seed)  # the seed decides the draw


def test_the_first_friends_cut_the_most_on_average() -> None:
    draws = [bargains.draw_cuts(100_000, 10, seed) for seed in range(200)]
    first = sum(cuts[0] for cuts in draws) / len(draws)
    last = sum(cuts[-1] for cuts in draws) / len(draws)
    assert first > 5 * last


def start(db: Session, customer_id: int, **overrides: int) -> int:
    body = {"customer_id": customer_id, "product_sku": "CAKE-6", "list_price_fen": 19_900,
            "floor_price_fen": 9_900, "helps_needed": 4, "time_limit_minutes": 1_440,
            "seed": 7}
    body.update(overrides)
    return bargains.start(db, actor=SYSTEM, data=BargainStart.model_validate(body)).id


def test_helps_take_the_drawn_cuts_in_order_down_to_the_floor(db: Session) -> None:
    set_now_source(lambda: T0)
    _, customers = make_shop(db, 6)
    bargain_id = start(db, customers[0].id)
    drawn = bargains.draw_cuts(10_000, 4, 7)
    results = [bargains.help_bargain(db, actor=SYSTEM, bargain_id=bargain_id,
                                     customer_id=friend.id) for friend in customers[1:5]]
    assert [result.cut_fen for result in results] == drawn
    assert [result.sequence for result in results] == [1, 2, 3, 4]
    assert [result.current_price_fen for result in results] == [
        19_900 - sum(drawn[:count]) for count in range(1, 5)]
    assert results[-1].current_price_fen == 9_900
    assert [result.status for result in results] == ["open", "open", "open", "completed"]
    with pytest.raises(BargainCompleted), db.begin_nested():
        bargains.help_bargain(db, actor=SYSTEM, bargain_id=bargain_id,
                              customer_id=customers[5].id)
    read = bargains.bargain_read(db, actor=SYSTEM, bargain_id=bargain_id)
    assert (read.status, read.helps_done, read.cut_fen, read.current_price_fen) == (
        "completed", 4, 10_000, 9_900)
    assert read.completed_at == T0
    assert [help.customer_id for help in read.helps] == [friend.id for friend in customers[1:5]]


def test_one_help_per_friend_none_from_the_starter_none_after_expiry(db: Session) -> None:
    set_now_source(lambda: T0)
    _, customers = make_shop(db, 3)
    bargain_id = start(db, customers[0].id, time_limit_minutes=30)
    bargains.help_bargain(db, actor=SYSTEM, bargain_id=bargain_id, customer_id=customers[1].id)
    with pytest.raises(AlreadyHelped), db.begin_nested():
        bargains.help_bargain(db, actor=SYSTEM, bargain_id=bargain_id,
                              customer_id=customers[1].id)
    with pytest.raises(CannotHelpOwnBargain), db.begin_nested():
        bargains.help_bargain(db, actor=SYSTEM, bargain_id=bargain_id,
                              customer_id=customers[0].id)
    set_now_source(lambda: T0 + timedelta(minutes=30))
    with pytest.raises(BargainExpired), db.begin_nested():
        bargains.help_bargain(db, actor=SYSTEM, bargain_id=bargain_id,
                              customer_id=customers[2].id)
    read = bargains.bargain_read(db, actor=SYSTEM, bargain_id=bargain_id)
    assert (read.status, read.helps_done) == ("expired", 1)
    assert read.cut_fen == bargains.draw_cuts(10_000, 4, 7)[0]
    assert db.scalar(select(func.count()).select_from(BargainHelp)) == 1
    assert bargains.expire_bargains(db).bargains_expired == 1
    assert bargains.expire_bargains(db).bargains_expired == 0
