"""Planning's set-based rule inputs, exactly: group messages (reachability by chat id, the
per-group weekly cap over sent-or-on-their-way deliveries, closed groups left out, the
holdout), a triggered campaign's cap, which counts in each customer's own ISO week, and a
OneID merge following deliveries without foreign keys."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.campaigns.support import campaign, new_customer, new_store, order, segment
from tests.support.factories import SYSTEM, make_user
from yutang.access.roles import Role
from yutang.campaigns import planning, service
from yutang.campaigns.holdout import is_held_out
from yutang.campaigns.models import CampaignRun, Delivery
from yutang.campaigns.schedule import Occurrence
from yutang.groups.models import Group, GroupStatus
from yutang.org.models import Store
from yutang.pool import graph_repository
from yutang.pool.models import Customer

TUESDAY_NOON = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 12:00 Asia/Shanghai, a Tuesday
MONDAY_LOCAL_MIDNIGHT = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # 2026-12-07 00:00 local
_runs = itertools.count(1)


def _earlier(db: Session, campaign_id: int, *, at: datetime, status: str,
             customer: Customer | None = None, group: Group | None = None) -> None:
    run = CampaignRun(campaign_id=campaign_id, occurrence=f"earlier-{next(_runs)}",
                      planned_for=at)
    db.add(run)
    db.flush()
    db.add(Delivery(campaign_id=campaign_id, run_id=run.id,
                    customer_id=customer.id if customer else None,
                    group_id=group.id if group else None, status=status, not_before=at))
    db.flush()


def _group(db: Session, store: Store, owner: int, name: str, *, chat: bool = True,
           status: str = GroupStatus.ACTIVE.value) -> Group:
    group = Group(store_id=store.id, owner_user_id=owner, name=name, capacity=50,
                  status=status, wecom_chat_id=f"wr-{name}" if chat else None)
    db.add(group)
    db.flush()
    return group


def test_group_messages_are_capped_per_group_and_reach_only_groups_with_a_chat(
        db: Session) -> None:
    store = new_store(db)
    owner = make_user(db, "plan-group-owner", Role.STAFF, store).id
    earlier = campaign(db, segment_id=segment(db, {"field": "store", "op": "eq",
                                                   "value": store.id}).id,
                       send_at=TUESDAY_NOON - timedelta(days=30))
    plain = [_group(db, store, owner, f"plain-{number}") for number in range(12)]
    no_chat = _group(db, store, owner, "no-chat", chat=False)
    dismissed = _group(db, store, owner, "dismissed", status=GroupStatus.DISMISSED.value)
    capped = _group(db, store, owner, "capped")
    _earlier(db, earlier.id, at=TUESDAY_NOON - timedelta(days=1), status="sent", group=capped)
    _earlier(db, earlier.id, at=TUESDAY_NOON + timedelta(days=2), status="planned",
             group=capped)
    failed = _group(db, store, owner, "failed")  # failed deliveries do not count
    for hours in (2, 3):
        _earlier(db, earlier.id, at=TUESDAY_NOON - timedelta(hours=hours), status="failed",
                 group=failed)
    last_week = _group(db, store, owner, "last-week")  # Sunday and Saturday: last week
    for days in (2, 3):
        _earlier(db, earlier.id, at=TUESDAY_NOON - timedelta(days=days), status="sent",
                 group=last_week)
    once = _group(db, store, owner, "once")
    _earlier(db, earlier.id, at=TUESDAY_NOON - timedelta(hours=20), status="claimed",
             group=once)
    audience = [*plain, no_chat, dismissed, capped, failed, last_week, once]
    group_message = campaign(db, channel="wecom_group", audience_kind="groups",
                             group_ids=[group.id for group in audience],
                             send_at=TUESDAY_NOON, holdout_share=0.5)

    preview = service.preview_plan(db, actor=SYSTEM, campaign_id=group_message.id)
    service.plan_due(db, now=TUESDAY_NOON - timedelta(hours=1))
    fates = {row.group_id: (row.status, row.reason) for row in db.scalars(
        select(Delivery).where(Delivery.campaign_id == group_message.id))}

    survivors = [*plain, failed, last_week, once]
    expected = {group.id: ("holdout" if is_held_out(group_message.id, group.id, 5000)
                           else "planned", None) for group in survivors}
    expected |= {no_chat.id: ("suppressed", "unreachable"),
                 capped.id: ("suppressed", "group_cap")}
    assert fates == expected  # the dismissed group is not a recipient at all
    assert {status for status, _ in expected.values()} >= {"holdout", "planned"}
    run = db.scalars(select(CampaignRun).where(
        CampaignRun.campaign_id == group_message.id)).one()
    assert preview.model_dump(exclude={"run_id"})["suppressed_by"] == run.counts[
        "suppressed_by"] == {"group_cap": 1, "unreachable": 1}
    assert preview.planned == run.counts["planned"] and preview.holdout == run.counts["holdout"]
    assert all(row.customer_id is None for row in db.scalars(
        select(Delivery).where(Delivery.campaign_id == group_message.id)))


def test_a_triggered_campaign_counts_the_cap_in_each_customers_own_week(db: Session) -> None:
    store = new_store(db)
    earlier = campaign(db, segment_id=segment(db, {"field": "store", "op": "eq",
                                                   "value": store.id}).id,
                       send_at=TUESDAY_NOON - timedelta(days=30))
    thursday_ten = MONDAY_LOCAL_MIDNIGHT - timedelta(days=4) + timedelta(hours=10)
    friday_ten = thursday_ten + timedelta(days=1)
    saturday = MONDAY_LOCAL_MIDNIGHT - timedelta(days=2) + timedelta(hours=10)
    tuesday = MONDAY_LOCAL_MIDNIGHT + timedelta(days=1, hours=10)
    # sends (first order + 3 days): Sunday 10:00 (last ISO week) or Monday 10:00 (this one)
    sunday_capped, sunday_free, monday_capped, monday_free = (
        new_customer(db, store) for _ in range(4))
    for customer in (sunday_capped, sunday_free):
        order(db, customer, at=thursday_ten)
    for customer in (monday_capped, monday_free):
        order(db, customer, at=friday_ten)
    for customer, at in ((sunday_capped, saturday), (sunday_free, tuesday),
                         (monday_capped, tuesday), (monday_free, saturday)):
        for hours in (0, 1):
            _earlier(db, earlier.id, at=at + timedelta(hours=hours), status="sent",
                     customer=customer)
    triggered = campaign(db, segment_id=segment(db, {"field": "store", "op": "eq",
                                                     "value": store.id}).id,
                         schedule_kind="triggered", trigger_kind="after_first_order",
                         trigger_days=3, holdout_share=0.0)

    summary = planning.plan_run(db, campaign=triggered,
                                occurrence=Occurrence("2026-12-07", MONDAY_LOCAL_MIDNIGHT),
                                now=MONDAY_LOCAL_MIDNIGHT)

    assert summary is not None and summary.suppressed_by == {"customer_cap": 2}
    fates = {row.customer_id: (row.status, row.reason, row.not_before) for row in db.scalars(
        select(Delivery).where(Delivery.campaign_id == triggered.id))}
    assert fates == {
        sunday_capped.id: ("suppressed", "customer_cap", thursday_ten + timedelta(days=3)),
        sunday_free.id: ("planned", None, thursday_ten + timedelta(days=3)),
        monday_capped.id: ("suppressed", "customer_cap", friday_ten + timedelta(days=3)),
        monday_free.id: ("planned", None, friday_ten + timedelta(days=3)),
    }


def test_a_merge_re_points_deliveries_by_their_logical_reference(db: Session) -> None:
    """Deliveries keep no foreign keys (planning writes millions at once); a OneID merge
    still moves a merged customer's deliveries to the survivor."""
    store = new_store(db)
    survivor, merged, bystander = (new_customer(db, store) for _ in range(3))
    earlier = campaign(db, segment_id=segment(db, {"field": "store", "op": "eq",
                                                   "value": store.id}).id,
                       send_at=TUESDAY_NOON)
    for customer in (merged, merged, bystander):
        _earlier(db, earlier.id, at=TUESDAY_NOON, status="sent", customer=customer)

    graph_repository.move_to_survivor(db, [merged.id], survivor.id)

    owners = sorted(row.customer_id for row in db.scalars(
        select(Delivery).where(Delivery.campaign_id == earlier.id)))
    assert owners == sorted([survivor.id, survivor.id, bystander.id])
