"""Store fission KPIs and the leaderboard: groups from the groups domain, group-buy leaders
and bait conversion from group-buy, for one local week — and what falls outside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fission.group_buy_support import SYSTEM, full_price_order, make_deal, make_shop
from tests.support.factories import make_api_key, make_user
from yutang.access.roles import Role
from yutang.fission import group_buy
from yutang.fission.errors import InvalidKpiPeriod
from yutang.fission.store_kpis import leaderboard, parse_period
from yutang.groups import service as groups_service
from yutang.groups.schemas import GroupCreate, MemberIn
from yutang.kit.clock import set_now_source
from yutang.org.models import Store
from yutang.pool.models import Customer

MONDAY = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, Monday
WEEK = parse_period("week", "2026-12-02")


def at(moment: datetime) -> None:
    set_now_source(lambda: moment)


def team_of(db: Session, deal_id: int, members: list[Customer]) -> int:
    team = group_buy.open_team(db, actor=SYSTEM, deal_id=deal_id,
                               leader_customer_id=members[0].id)
    for customer in members[1:]:
        group_buy.join_team(db, actor=SYSTEM, team_id=team.id, customer_id=customer.id)
    return team.id


def plant(db: Session) -> tuple[Store, Store, list[Customer]]:
    at(MONDAY - timedelta(days=3))
    store_a, people_a = make_shop(db, 10)
    store_b, people_b = make_shop(db, 3)
    owner = make_user(db, f"owner{store_a.code}", Role.STAFF, store_a)
    before = groups_service.create_group(db, actor=SYSTEM, data=GroupCreate(
        store_code=store_a.code, name="老群", owner_username=owner.username))
    groups_service.add_member(db, actor=SYSTEM, group_id=before.id,
                              data=MemberIn(customer_id=people_a[9].id))
    deal = make_deal(db, team_size=3)
    team_of(db, deal.id, people_a[6:9])  # succeeded before the week: not counted
    at(MONDAY + timedelta(hours=1))
    active = groups_service.create_group(db, actor=SYSTEM, data=GroupCreate(
        store_code=store_a.code, name="新群", owner_username=owner.username))
    dead = groups_service.create_group(db, actor=SYSTEM, data=GroupCreate(
        store_code=store_a.code, name="死群", owner_username=owner.username))
    dead.status = "dead"
    for customer in people_a[:3]:
        groups_service.add_member(db, actor=SYSTEM, group_id=active.id,
                                  data=MemberIn(customer_id=customer.id))
    team_of(db, deal.id, people_a[:3])  # succeeds
    team_of(db, deal.id, people_a[3:5])  # will fail
    team_of(db, deal.id, people_b)  # succeeds
    group_buy.expire_teams(db, now=MONDAY + timedelta(hours=3))
    full_price_order(db, people_a[1], at=MONDAY + timedelta(days=10), sku="PHOTO-SET",
                     unit_price_fen=150_000)
    full_price_order(db, people_a[7], at=MONDAY + timedelta(days=10), sku="PHOTO-SET",
                     unit_price_fen=150_000)  # a bait buyer of an earlier week
    return store_a, store_b, people_a


def test_the_weekly_leaderboard_counts_each_kpi_of_each_store(db: Session) -> None:
    store_a, store_b, _ = plant(db)
    board = leaderboard(db, actor=SYSTEM, period=WEEK)
    assert (board.first_day.isoformat(), board.last_day.isoformat()) == (
        "2026-11-30", "2026-12-06")
    rows = {row.store_id: row for row in board.stores}
    a, b = rows[store_a.id], rows[store_b.id]
    assert (a.groups_created, a.active_groups, a.dead_groups, a.new_fans_in_active_groups) == (
        2, 2, 1, 3)
    assert (a.group_buy_leaders, a.group_buy_teams_succeeded) == (2, 1)
    assert (a.bait_buyers, a.bait_buyers_converted, a.bait_conversion_rate) == (3, 1, 0.3333)
    assert (b.groups_created, b.active_groups, b.new_fans_in_active_groups) == (0, 0, 0)
    assert (b.group_buy_leaders, b.group_buy_teams_succeeded, b.bait_buyers,
            b.bait_buyers_converted) == (1, 1, 3, 0)
    assert a.rank < b.rank


def test_the_previous_week_holds_only_what_happened_in_it(db: Session) -> None:
    store_a, _, _ = plant(db)
    board = leaderboard(db, actor=SYSTEM, period=parse_period("week", "2026-11-27"))
    a = next(row for row in board.stores if row.store_id == store_a.id)
    assert (a.groups_created, a.group_buy_leaders, a.bait_buyers, a.bait_buyers_converted) == (
        1, 1, 3, 1)
    assert a.new_fans_in_active_groups == 1


def test_periods_are_local_days_weeks_and_months() -> None:
    assert (WEEK.start, WEEK.end) == (datetime(2026, 11, 29, 16, tzinfo=UTC),
                                      datetime(2026, 12, 6, 16, tzinfo=UTC))
    month = parse_period("monthly", "2026-12-31")
    assert (month.first_day.isoformat(), month.end_day.isoformat()) == (
        "2026-12-01", "2027-01-01")
    day = parse_period("day", "2026-12-02")
    assert day.end - day.start == timedelta(days=1)
    with pytest.raises(InvalidKpiPeriod):
        parse_period("fortnight", "2026-12-02")
    with pytest.raises(InvalidKpiPeriod):
        parse_period("week", "02/12/2026")


def test_the_store_kpis_api(client: TestClient, db: Session) -> None:
    store_a, _, _ = plant(db)
    key = make_api_key(db, Role.ANALYST)
    response = client.get("/api/v1/store-kpis?period=week&date=2026-12-02",
                          headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == "week"
    first = next(row for row in body["stores"] if row["store_id"] == store_a.id)
    assert (first["new_fans_in_active_groups"], first["bait_buyers_converted"]) == (3, 1)
    bad = client.get("/api/v1/store-kpis?period=year&date=2026-12-02",
                     headers={"Authorization": f"Bearer {key}"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_kpi_period")
    staff = make_api_key(db, Role.STAFF, store_a)
    refused = client.get("/api/v1/store-kpis?period=week&date=2026-12-02",
                         headers={"Authorization": f"Bearer {staff}"})
    assert refused.status_code == 403
