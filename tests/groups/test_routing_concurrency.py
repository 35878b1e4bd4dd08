"""The must-show under real HTTP concurrency, on SQLite and PostgreSQL: 500 concurrent scans
of a group code over groups of 50 leave no group above 50, give every scan a seat, open no
more groups than needed; the same 500 scanning again at once all get the group they are in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import BACKENDS
from tests.groups.support import make_customers, make_shop
from tests.support.databases import migrated_database
from tests.support.factories import SYSTEM
from tests.support.server_process import server_process
from yutang.groups import service
from yutang.groups.models import Group, GroupCodeScan, GroupMember
from yutang.groups.schemas import GroupCodeCreate, GroupCreate, MemberIn
from yutang.kit.db import create_engine, make_session_factory, unit_of_work

pytestmark = pytest.mark.slow

CLIENTS = 32
SCANS = 500
CAPACITY = 50
PREFILLED = (10, 30, 49)
"""Members already in the code's three groups: 61 seats left before groups must open."""


@dataclass(frozen=True)
class Setup:
    url: str
    database_url: str
    api_key: str
    code_id: int
    customer_ids: list[int]


@pytest.fixture(scope="module", params=BACKENDS)
def setup(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    database_url = migrated_database(request.param, tmp_path_factory.mktemp("groups"),
                                     "groups", request)
    engine = create_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            shop = make_shop(session, customers=SCANS)
            members = make_customers(session, shop.store, sum(PREFILLED))
            groups = []
            for number, filled in enumerate(PREFILLED):
                group = service.create_group(session, actor=SYSTEM, data=GroupCreate(
                    store_code=shop.store.code, name=f"老群{number}",
                    owner_username=shop.owner.username, capacity=CAPACITY))
                groups.append(group.id)
                for customer in members[:filled]:
                    service.add_member(session, actor=SYSTEM, group_id=group.id,
                                       data=MemberIn(customer_id=customer.id))
                members = members[filled:]
            code = service.create_code(session, actor=SYSTEM, data=GroupCodeCreate(
                store_code=shop.store.code, name="门店福利", group_ids=groups,
                capacity=CAPACITY))
            setup_values = (shop.key, code.id, [customer.id for customer in shop.customers])
    finally:
        engine.dispose()
    with server_process(database_url) as (_, url):
        yield Setup(url, database_url, setup_values[0], setup_values[1], setup_values[2])


def _scan_all(setup: Setup, customer_ids: list[int]) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {setup.api_key}"}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    with httpx.Client(base_url=setup.url, headers=headers, timeout=120,
                      limits=limits) as client:
        def scan(customer_id: int) -> dict[str, Any]:
            response = client.post(f"/api/v1/group-codes/{setup.code_id}/scan",
                                   json={"customer_id": customer_id})
            return {"status": response.status_code, **response.json()}

        with ThreadPoolExecutor(CLIENTS) as pool:
            return list(pool.map(scan, customer_ids))


def _check(setup: Setup) -> tuple[dict[int, int], dict[int, int]]:
    """(member count per group, member rows per group) of the code's groups."""
    engine = create_engine(setup.database_url)
    try:
        with Session(engine) as session:
            counts = {group_id: count for group_id, count in session.execute(
                select(Group.id, Group.member_count).where(Group.code_id == setup.code_id))}
            rows = {group_id: count for group_id, count in session.execute(
                select(GroupMember.group_id, func.count()).join(
                    Group, Group.id == GroupMember.group_id)
                .where(Group.code_id == setup.code_id, GroupMember.status == "member")
                .group_by(GroupMember.group_id))}
            scans = session.scalar(select(func.count()).select_from(GroupCodeScan).where(
                GroupCodeScan.code_id == setup.code_id))
            assert scans == SCANS
    finally:
        engine.dispose()
    return counts, rows


def test_500_concurrent_scans_never_fill_a_group_above_50(setup: Setup) -> None:
    outcomes = _scan_all(setup, setup.customer_ids)
    assert Counter(outcome["status"] for outcome in outcomes) == Counter({200: SCANS})
    assert not any(outcome["already_member"] for outcome in outcomes)
    seats = Counter(outcome["group"]["id"] for outcome in outcomes)
    counts, rows = _check(setup)
    assert max(counts.values()) <= CAPACITY
    assert counts == rows  # the count is the members, exactly
    assert sum(counts.values()) == SCANS + sum(PREFILLED)
    # 61 seats were left in the old groups; 439 more need ceil(439 / 50) = 9 new groups.
    room_before = sum(CAPACITY - filled for filled in PREFILLED)
    opened = -(-(SCANS - room_before) // CAPACITY)
    assert len(counts) == len(PREFILLED) + opened
    assert sum(1 for outcome in outcomes if outcome["opened_new_group"]) == opened
    assert sorted(counts.values()).count(CAPACITY) == len(counts) - 1  # only the last has room
    assert all(count <= CAPACITY for count in seats.values())

    again = _scan_all(setup, setup.customer_ids)
    assert all(outcome["status"] == 200 and outcome["already_member"] for outcome in again)
    assert {outcome["customer_id"]: outcome["group"]["id"] for outcome in again} == {
        outcome["customer_id"]: outcome["group"]["id"] for outcome in outcomes}
    assert _check(setup) == (counts, rows)
