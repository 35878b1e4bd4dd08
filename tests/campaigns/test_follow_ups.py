"""Follow-ups (回访), both backends: each rule creates tasks for exactly its customers (and
for nobody who withdrew consent, is not due yet, is past the catch-up or already upgraded),
once however often the sweep runs; tasks go to the least-loaded staff member of the
customer's store, else its manager, else nobody; staff work their own tasks only, closing
is once, a next contact date opens the next task; managers see completion per staff member."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.campaigns.support import approved_content, new_customer, new_store, order
from tests.support.factories import SYSTEM, make_api_key, make_user
from yutang.access.roles import Principal, Role
from yutang.access.service import principal_for_user
from yutang.campaigns import follow_ups
from yutang.campaigns.follow_ups_errors import (
    FollowUpNotYours,
    FollowUpTaskClosed,
    FollowUpTaskNotFound,
    InvalidNextContact,
)
from yutang.campaigns.follow_ups_models import FollowUpKind, FollowUpTask, TaskOutcome
from yutang.campaigns.follow_ups_schemas import FollowUpRuleIn, TaskDone
from yutang.fission.group_buy_models import GROUP_BUY_ORDER_SOURCE
from yutang.kit.clock import local_day_start_utc, set_now_source, to_local, utcnow
from yutang.offers import points
from yutang.offers.policy import OffersPolicy
from yutang.org.models import Store
from yutang.pool.models import Customer, Order, OrderStatus

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _user(db: Session, username: str, role: Role, store: Store) -> Principal:
    return principal_for_user(make_user(db, username, role, store))


def _bait(db: Session, customer: Customer, at: datetime) -> None:
    db.add(Order(source=GROUP_BUY_ORDER_SOURCE, external_order_id=f"gb{customer.id}",
                 customer_id=customer.id, store_id=customer.store_id,
                 status=OrderStatus.PAID.value, total_fen=9_900, paid_fen=9_900,
                 ordered_at=at, paid_at=at))
    db.flush()


def _tasks(db: Session) -> dict[tuple[int, int], FollowUpTask]:
    return {(task.rule_id, task.customer_id): task
            for task in db.scalars(select(FollowUpTask))}


def test_rules_create_each_task_once_for_exactly_their_customers(db: Session) -> None:
    set_now_source(lambda: NOW)
    shop, manager_only, nobody = new_store(db), new_store(db), new_store(db)
    first_staff = _user(db, "fu_staff1", Role.STAFF, shop)
    second_staff = _user(db, "fu_staff2", Role.STAFF, shop)
    _user(db, "fu_manager", Role.STORE_MANAGER, shop)  # staff come first
    other_manager = _user(db, "fu_manager_b", Role.STORE_MANAGER, manager_only)
    script = approved_content(db, body="{name}您好，我是{store}的店员，回访一下")
    rules = {kind: follow_ups.create_rule(db, actor=SYSTEM, data=FollowUpRuleIn(
        name=kind.value, kind=kind, content_id=script.id, days=days, due_days=2))
        for kind, days in ((FollowUpKind.FIRST_ORDER, 3), (FollowUpKind.POINTS_EXPIRING, 7),
                           (FollowUpKind.HIGH_VALUE_AT_RISK, 30),
                           (FollowUpKind.BAIT_NOT_UPGRADED, 10))}

    def buyer(store: Store, days_ago: float, name: str | None = None,
              consent: bool | None = True) -> Customer:
        customer = new_customer(db, store, name=name, consent=consent)
        order(db, customer, at=NOW - timedelta(days=days_ago))
        return customer

    first = buyer(shop, 3.05, name="王小明")
    second = buyer(shop, 3.1)
    buyer(shop, 1)  # not due yet
    buyer(shop, 20)  # past the week of catch-up
    buyer(shop, 4, consent=False)  # withdrew: never followed up
    at_manager = buyer(manager_only, 3.5)
    unassigned = buyer(nobody, 3.2)

    expiring, later, spent = (new_customer(db, shop) for _ in range(3))
    points.earn(db, actor=SYSTEM, customer_id=expiring.id, points=100,
                policy=OffersPolicy(points_valid_days=5))
    points.earn(db, actor=SYSTEM, customer_id=later.id, points=100,
                policy=OffersPolicy(points_valid_days=10))
    points.earn(db, actor=SYSTEM, customer_id=spent.id, points=100,
                policy=OffersPolicy(points_valid_days=2))
    points.redeem(db, actor=SYSTEM, customer_id=spent.id, points=100)

    at_risk, active_vip, low_at_risk = (new_customer(db, shop) for _ in range(3))
    at_risk.value_tier, at_risk.lifecycle_stage = "vip", "at_risk"
    active_vip.value_tier, active_vip.lifecycle_stage = "vip", "active"
    low_at_risk.value_tier, low_at_risk.lifecycle_stage = "low", "at_risk"

    bait_only, upgraded, too_soon = (new_customer(db, shop) for _ in range(3))
    _bait(db, bait_only, NOW - timedelta(days=12))
    _bait(db, upgraded, NOW - timedelta(days=12))
    order(db, upgraded, at=NOW - timedelta(days=1))  # bought at full price since
    _bait(db, too_soon, NOW - timedelta(days=5))
    order(db, too_soon, at=NOW - timedelta(days=30))  # its first order is long ago

    report = follow_ups.generate_tasks(db, actor=SYSTEM, now=NOW)
    ids = {kind: str(rule.id) for kind, rule in rules.items()}
    assert report.created == {ids[FollowUpKind.FIRST_ORDER]: 4,
                              ids[FollowUpKind.POINTS_EXPIRING]: 1,
                              ids[FollowUpKind.HIGH_VALUE_AT_RISK]: 1,
                              ids[FollowUpKind.BAIT_NOT_UPGRADED]: 1}
    assert report.unassigned == 1
    tasks = _tasks(db)
    expected = {
        (rules[FollowUpKind.FIRST_ORDER].id, first.id): first_staff.id,
        (rules[FollowUpKind.FIRST_ORDER].id, second.id): second_staff.id,
        (rules[FollowUpKind.FIRST_ORDER].id, at_manager.id): other_manager.id,
        (rules[FollowUpKind.FIRST_ORDER].id, unassigned.id): None,
        (rules[FollowUpKind.POINTS_EXPIRING].id, expiring.id): first_staff.id,
        (rules[FollowUpKind.HIGH_VALUE_AT_RISK].id, at_risk.id): second_staff.id,
        (rules[FollowUpKind.BAIT_NOT_UPGRADED].id, bait_only.id): first_staff.id,
    }
    assert {key: task.assignee_id for key, task in tasks.items()} == expected
    assert all(task.due_at == NOW + timedelta(days=2) for task in tasks.values())

    # Again the same day, and a week later: nothing new, except for the at-risk customer
    # once a new 30-day period starts.
    assert sum(follow_ups.generate_tasks(db, actor=SYSTEM, now=NOW).created.values()) == 0
    assert len(_tasks(db)) == 7
    later_report = follow_ups.generate_tasks(db, actor=SYSTEM, now=NOW + timedelta(days=31))
    assert later_report.created[ids[FollowUpKind.HIGH_VALUE_AT_RISK]] == 1
    assert later_report.created[ids[FollowUpKind.FIRST_ORDER]] == 0


def test_staff_work_their_own_tasks_and_managers_see_completion(db: Session) -> None:
    set_now_source(lambda: NOW)
    shop, elsewhere = new_store(db), new_store(db)
    first_staff = _user(db, "fw_staff1", Role.STAFF, shop)
    second_staff = _user(db, "fw_staff2", Role.STAFF, shop)
    manager = _user(db, "fw_manager", Role.STORE_MANAGER, shop)
    stranger = _user(db, "fw_manager_b", Role.STORE_MANAGER, elsewhere)
    script = approved_content(db, body="{name}您好，我是{store}的店员")
    follow_ups.create_rule(db, actor=SYSTEM, data=FollowUpRuleIn(
        name="首单回访", kind=FollowUpKind.FIRST_ORDER, content_id=script.id, days=3))
    customers = [new_customer(db, shop, name=name) for name in ("王小明", "李华", "赵敏", "钱多")]
    for number, customer in enumerate(customers):
        order(db, customer, at=NOW - timedelta(days=3, hours=number + 1))
    follow_ups.generate_tasks(db, actor=SYSTEM, now=NOW)

    mine = follow_ups.list_tasks(db, actor=first_staff, now=NOW)
    theirs = follow_ups.list_tasks(db, actor=second_staff, now=NOW)
    assert [task.customer_id for task in mine] == [customers[0].id, customers[2].id]
    assert [task.customer_id for task in theirs] == [customers[1].id, customers[3].id]
    assert mine[0].script == f"王**您好，我是{shop.name}的店员" and mine[0].customer_name == "王**"
    assert len(follow_ups.list_tasks(db, actor=manager, now=NOW)) == 4
    assert follow_ups.list_tasks(db, actor=stranger, now=NOW) == []

    done = TaskDone(outcome=TaskOutcome.REACHED, note="周末来店",
                    next_contact_on=date(2026, 12, 10))
    with pytest.raises(FollowUpNotYours):
        follow_ups.complete_task(db, actor=second_staff, task_id=mine[0].id, data=done)
    with pytest.raises(FollowUpTaskNotFound):
        follow_ups.complete_task(db, actor=stranger, task_id=mine[0].id, data=done)
    with pytest.raises(InvalidNextContact):
        follow_ups.complete_task(db, actor=first_staff, task_id=mine[0].id, data=TaskDone(
            outcome=TaskOutcome.REACHED, next_contact_on=date(2026, 12, 1)))
    moment = NOW + timedelta(hours=3)
    follow_ups.complete_task(db, actor=first_staff, task_id=mine[0].id, data=done, now=moment)
    with pytest.raises(FollowUpTaskClosed):
        follow_ups.complete_task(db, actor=first_staff, task_id=mine[0].id, data=done)
    follow_ups.skip_task(db, actor=manager, task_id=theirs[0].id, note="号码停机")
    # Three days late: the other task of the first staff member is overdue.
    follow_ups.complete_task(db, actor=first_staff, task_id=mine[1].id, now=NOW + timedelta(
        days=3), data=TaskDone(outcome=TaskOutcome.NO_ANSWER))

    next_task = db.scalars(select(FollowUpTask).where(
        FollowUpTask.previous_task_id == mine[0].id)).one()
    assert (next_task.customer_id, next_task.assignee_id, next_task.status) == (
        customers[0].id, first_staff.id, "open")
    assert to_local(next_task.due_at).isoformat() == "2026-12-10T10:00:00+08:00"
    assert next_task.due_at == local_day_start_utc(date(2026, 12, 10)) + timedelta(hours=10)
    assert db.scalar(select(func.count()).select_from(FollowUpTask)) == 5

    rows = follow_ups.completion(db, actor=manager, first_day=date(2026, 12, 7),
                                 last_day=date(2026, 12, 13), now=NOW + timedelta(days=3))
    figures = {row.username: (row.assigned, row.done, row.skipped, row.open, row.overdue,
                              row.done_on_time, row.completion_rate) for row in rows}
    assert figures == {"fw_staff1": (3, 2, 0, 1, 0, 1, pytest.approx(2 / 3)),
                       "fw_staff2": (2, 0, 1, 1, 1, 0, 0.5)}
    assert follow_ups.completion(db, actor=stranger, first_day=date(2026, 12, 7),
                                 last_day=date(2026, 12, 13)) == []


def test_follow_ups_over_the_api(client: TestClient, db: Session) -> None:
    store = new_store(db)
    make_user(db, "fa_staff", Role.STAFF, store)
    customer = new_customer(db, store, name="王小明")
    order(db, customer, at=utcnow() - timedelta(days=3, hours=1))
    hq = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    staff_key = {"Authorization": f"Bearer {make_api_key(db, Role.STAFF, store)}"}
    draft = client.post("/api/v1/content", headers=hq, json={
        "name": "首单话术", "category": "follow_up", "body": "{name}您好"})
    db.commit()
    rule = {"name": "首单回访", "kind": "first_order", "content_id": draft.json()["id"],
            "days": 3}
    refused = client.post("/api/v1/follow-up-rules", headers=hq, json=rule)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "content_not_approved"
    client.post(f"/api/v1/content/{draft.json()['id']}/approve", headers=hq)
    created = client.post("/api/v1/follow-up-rules", headers=hq, json=rule)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/follow-ups/generate", headers=staff_key).status_code == 403
    generated = client.post("/api/v1/follow-ups/generate", headers=hq)
    assert generated.json() == {"created": {str(created.json()["id"]): 1}, "unassigned": 0}
    tasks = client.get("/api/v1/follow-ups", headers=staff_key).json()
    assert [(task["customer_id"], task["script"], task["assignee"]) for task in tasks] == [
        (customer.id, "王**您好", "fa_staff")]
    done = client.post(f"/api/v1/follow-ups/{tasks[0]['id']}/done", headers=staff_key,
                       json={"outcome": "purchased"})
    assert done.json() == {"id": tasks[0]["id"], "status": "done", "outcome": "purchased"}
    again = client.post(f"/api/v1/follow-ups/{tasks[0]['id']}/done", headers=staff_key,
                        json={"outcome": "purchased"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "follow_up_task_closed"
    today = to_local(utcnow()).date()
    rows = client.get("/api/v1/follow-ups/completion", headers=hq, params={
        "first_day": today.isoformat(),
        "last_day": (today + timedelta(days=7)).isoformat()}).json()
    assert [(row["username"], row["assigned"], row["done"]) for row in rows] == [
        ("fa_staff", 1, 1)]
