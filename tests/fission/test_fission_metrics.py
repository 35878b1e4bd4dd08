"""Fission metrics on both backends, every number known in advance on a small tree; the
vectorised tree (depths by pointer jumping, descendants by generation) equals a plain walk
on random forests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.fission.referral_support import Api, error_code, shop
from tests.support.factories import make_api_key, make_store
from yutang.access.roles import Role
from yutang.fission.metrics import build_tree
from yutang.fission.models import ReferralEdge

DAY_ONE = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def _at(days: int) -> str:
    return (DAY_ONE + timedelta(days=days)).isoformat()


def test_every_metric_of_a_known_tree(client: TestClient, db: Session) -> None:
    _, api, people = shop(db, client, customers=7)
    a, b, c, d, e, f, x = people
    codes = {person.id: api.code_of(person.id) for person in (a, b, c, d)}
    for referrer, referee, status, day in ((a, b, "joined", 1), (a, c, "joined", 1),
                                           (a, x, "clicked", 1), (b, d, "joined", 3),
                                           (d, e, "joined", 6), (c, f, "joined", 2)):
        api.refer(codes[referrer.id], referee.id, status=status, at=_at(day), expect=201)
    rejected = api.get(f"/referral-codes/{codes[c.id]}")
    assert rejected["joined"] == 1
    api.move(_edge_of(db, f.id), "rejected", reason="同一设备", expect=200)
    api.move(_edge_of(db, d.id), "first_order", at=_at(8), expect=200)

    metrics = api.get("/fission/metrics")
    k = metrics["k_factor"]
    assert (k["participants"], k["invites"], k["joins"]) == (4, 6, 4)
    assert k["value"] == pytest.approx(1.0)
    assert k["invites_per_participant"] * k["conversion"] == pytest.approx(k["value"])
    half = 1.959963984540054 * np.sqrt((6 - 4 * 1.0) / 3 / 4)
    assert (k["lower"], k["upper"]) == (pytest.approx(1.0 - half), pytest.approx(1.0 + half))
    assert [(step["step"], step["count"]) for step in metrics["steps"]] == [
        ("clicked", 6), ("joined", 4), ("first_order", 1), ("rewarded", 0)]
    assert metrics["steps"][1]["rate_from_previous"] == pytest.approx(4 / 6)
    assert (metrics["edges"], metrics["rejected"]) == (6, 1)
    assert metrics["depth"] == {"max_depth": 3, "mean_depth": pytest.approx(7 / 5),
                                "customers_by_depth": [1, 2, 1, 1]}
    assert [(row["customer_id"], row["direct_joins"], row["descendants"])
            for row in metrics["top_spreaders"]] == [(a.id, 2, 4), (b.id, 1, 2), (d.id, 1, 1)]
    cycle = metrics["cycle_time"]
    assert (cycle["samples"], cycle["median_days"]) == (2, pytest.approx(2.5))
    assert cycle["click_to_join_median_hours"] == pytest.approx(0.0)
    assert cycle["join_to_first_order_median_days"] == pytest.approx(5.0)
    assert (metrics["new_customers"], metrics["new_from_fission"]) == (7, 4)
    assert metrics["share_new_from_fission"] == pytest.approx(4 / 7)

    window = api.get(f"/fission/metrics?since={_at(2)}&until={_at(7)}".replace("+", "%2B"))
    assert (window["edges"], window["rejected"], window["k_factor"]["joins"]) == (3, 1, 2)
    bad = api.client.get(f"/api/v1/fission/metrics?since={_at(3)}&until={_at(2)}"
                         .replace("+", "%2B"), headers=api.headers)
    assert bad.status_code == 422 and error_code(bad) == "invalid_metrics_period"

    analyst = Api(client, make_api_key(db, Role.ANALYST))
    seen = analyst.get("/fission/metrics")
    assert [row["customer_id"] for row in seen["top_spreaders"]] == [None, None, None]
    assert seen["top_spreaders"][0]["customer_ref"].startswith("p_")
    staff = Api(client, make_api_key(db, Role.STAFF, make_store(db, "METRICS-STAFF")))
    assert staff.client.get("/api/v1/fission/metrics",
                            headers=staff.headers).status_code == 403


def _edge_of(db: Session, customer_id: int) -> int:
    return int(db.scalars(select(ReferralEdge.id).where(
        ReferralEdge.referee_customer_id == customer_id)).one())


def _walk(referees: list[int], referrers: list[int]) -> dict[int, tuple[int, int, int]]:
    """customer → (depth, direct, descendants) by plain recursion."""
    parent = dict(zip(referees, referrers, strict=True))
    children: dict[int, list[int]] = {}
    for child, referrer in parent.items():
        if referrer > 0:
            children.setdefault(referrer, []).append(child)
    nodes = set(referees) | {value for value in referrers if value > 0}

    def depth(node: int) -> int:
        return 0 if parent.get(node, 0) <= 0 else 1 + depth(parent[node])

    def size(node: int) -> int:
        return sum(1 + size(child) for child in children.get(node, []))

    return {node: (depth(node), len(children.get(node, [])), size(node)) for node in nodes}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=60))
def test_the_vectorised_tree_equals_a_plain_walk(choices: list[int]) -> None:
    # Customer n + 1 is referred by an earlier customer (or nobody): always a forest.
    referees = list(range(2, len(choices) + 2))
    referrers = [choice % (number - 1) + 1 if choice else 0
                 for number, choice in zip(referees, choices, strict=True)]
    tree = build_tree(np.array(referees, dtype=np.int64), np.array(referrers, dtype=np.int64))
    found = {int(node): (int(tree.depth[index]), int(tree.direct[index]),
                         int(tree.descendants[index]))
             for index, node in enumerate(tree.nodes)}
    assert found == _walk(referees, referrers)
