"""Pool events become memberships, activity and probe claims, on both backends: right after
the ingestion commits (the signal), and by the sweep from its cursor when the signal was
missed; applying an event twice changes nothing; the cursor passes only settled events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.groups.support import add_event, create_group, make_shop
from yutang.groups import sync
from yutang.groups.models import (
    Group,
    GroupActivity,
    GroupMember,
    GroupMemberChange,
    GroupProbe,
    GroupSyncCursor,
)
from yutang.kit.clock import set_now_source

T0 = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


def _count(session: Session, group_id: int) -> int:
    session.expire_all()
    group = session.get(Group, group_id)
    assert group is not None
    return group.member_count


def test_ingested_join_and_leave_events_update_the_group_after_commit(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=2)
    group = create_group(client, shop)
    phones = ["13700000001", "13700000002"]
    events = [{"event_id": f"join-{number}", "type": "join_group",
               "occurred_at": T0.isoformat(), "identities": {"phone": phone},
               "properties": {"group_id": group["id"]}, "store": shop.store.code}
              for number, phone in enumerate(phones)]
    response = client.post("/api/v1/events", json={"events": events}, headers=shop.headers)
    assert response.json()["accepted"] == 2, response.text
    assert _count(db, group["id"]) == 2
    replay = client.post("/api/v1/events", json={"events": events}, headers=shop.headers)
    assert replay.json()["duplicates"] == 2
    leave = {"event_id": "leave-0", "type": "leave_group",
             "occurred_at": (T0 + timedelta(days=1)).isoformat(),
             "identities": {"phone": phones[0]}, "properties": {"group_id": group["id"]}}
    client.post("/api/v1/events", json={"events": [leave]}, headers=shop.headers)
    assert _count(db, group["id"]) == 1
    # The sweep sees the same events: their receipts make it change nothing.
    result = sync.sweep(db, now=T0 + timedelta(days=30))
    assert (result.read, result.applied) == (3, 0)
    assert _count(db, group["id"]) == 1
    assert db.scalar(select(func.count()).select_from(GroupMemberChange).where(
        GroupMemberChange.group_id == group["id"])) == 3


def test_the_sweep_applies_missed_events_once_and_moves_its_cursor_past_settled_ones(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=3)
    group = create_group(client, shop, wecom_chat_id="wrChat1")
    probe = GroupProbe(group_id=group["id"], sent_at=T0, packets=2, claimed=0)
    db.add(probe)
    db.flush()
    first, second, third = shop.customers
    chat = {"chat_id": "wrChat1"}
    events = [
        add_event(db, event_id="s-1", kind="join_group", customer=first, at=T0, properties=chat),
        add_event(db, event_id="s-2", kind="join_group", customer=second, at=T0,
                  properties=chat),
        add_event(db, event_id="s-3", kind="message", customer=first,
                  at=T0 + timedelta(minutes=1), properties=chat),
        add_event(db, event_id="s-4", kind="message", customer=first,
                  at=T0 + timedelta(minutes=2), properties=chat),
        add_event(db, event_id="s-5", kind="red_packet_claim", customer=second,
                  at=T0 + timedelta(minutes=3), properties=chat),
        add_event(db, event_id="s-6", kind="red_packet_claim", customer=second,
                  at=T0 + timedelta(minutes=4), properties=chat),  # a second claim: refused
        add_event(db, event_id="s-7", kind="leave_group", customer=second,
                  at=T0 + timedelta(days=2), properties=chat),
        add_event(db, event_id="s-8", kind="message", customer=third, at=T0,
                  properties={"chat_id": "wrUnknown"}),
        add_event(db, event_id="s-9", kind="join_group", customer=None, at=T0,
                  properties=chat),
    ]
    # The last event arrived just now: the cursor must not pass it (it may still commit late
    # on PostgreSQL), but it is applied.
    events[-2].received_at = T0 + timedelta(days=9, hours=23, minutes=55)
    db.flush()
    set_now_source(lambda: T0 + timedelta(days=10))
    result = sync.sweep(db, now=T0 + timedelta(days=10))
    assert (result.read, result.applied, result.skipped) == (9, 6, 3)
    cursor = db.scalars(select(GroupSyncCursor)).one()
    assert cursor.last_event_id == events[-3].id
    assert _count(db, group["id"]) == 1
    db.refresh(probe)
    assert (probe.claimed, probe.last_claim_at) == (1, T0 + timedelta(minutes=3))
    activity = {(row.customer_key, row.messages, row.claims)
                for row in db.scalars(select(GroupActivity))}
    assert activity == {(first.id, 2, 0), (second.id, 0, 1)}
    again = sync.sweep(db, now=T0 + timedelta(days=10))
    assert (again.read, again.applied) == (2, 0)  # the unsettled ones, read again, no change
    assert _count(db, group["id"]) == 1
    assert db.scalar(select(func.sum(GroupActivity.messages))) == 2
    member = db.scalars(select(GroupMember).where(GroupMember.customer_id == second.id)).one()
    assert (member.status, member.left_at) == ("left", T0 + timedelta(days=2))


def test_a_join_into_an_unknown_chat_opens_a_group_for_its_owner(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=1, wecom_userid="zhangsan")
    add_event(db, event_id="u-1", kind="join_group", customer=shop.customers[0], at=T0,
              store=shop.store, properties={"chat_id": "wrNew", "owner": "zhangsan",
                                            "group_name": "新群"})
    add_event(db, event_id="u-2", kind="join_group", customer=shop.customers[0], at=T0,
              properties={"chat_id": "wrOrphan", "owner": "nobody"})
    result = sync.sweep(db, now=T0)
    assert result.applied == 1
    group = db.scalars(select(Group).where(Group.wecom_chat_id == "wrNew")).one()
    assert (group.name, group.owner_user_id, group.store_id, group.member_count,
            group.capacity) == ("新群", shop.owner.id, shop.store.id, 1, 50)
    assert db.scalar(select(func.count()).select_from(Group).where(
        Group.wecom_chat_id == "wrOrphan")) == 0


def test_one_sweep_batch_follows_each_membership_through_join_leave_and_rejoin(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=2)
    first_group = create_group(client, shop, wecom_chat_id="wrBatch1")
    second_group = create_group(client, shop, wecom_chat_id="wrBatch2")
    a, b = shop.customers
    one, two = {"chat_id": "wrBatch1"}, {"chat_id": "wrBatch2"}

    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    for number, (kind, customer, when, chat) in enumerate([
        ("join_group", a, at(0), one),
        ("join_group", b, at(1), one),
        ("leave_group", a, at(2), one),
        ("join_group", a, at(3), one),   # back again: the same row, joined anew
        ("join_group", b, at(4), one),   # a member already: nothing changes
        ("join_group", a, at(5), two),
        ("leave_group", b, at(6), two),  # never a member there: nothing changes
    ]):
        add_event(db, event_id=f"b-{number}", kind=kind, customer=customer, at=when,
                  properties=chat)
    db.flush()
    result = sync.sweep(db, now=T0 + timedelta(days=1))
    assert (result.read, result.applied) == (7, 7)
    assert _count(db, first_group["id"]) == 2
    assert _count(db, second_group["id"]) == 1
    rows = {(row.group_id, row.customer_id): (row.status, row.first_joined_at, row.joined_at,
                                               row.left_at)
            for row in db.scalars(select(GroupMember))}
    assert rows == {
        (first_group["id"], a.id): ("member", at(0), at(3), None),
        (first_group["id"], b.id): ("member", at(1), at(1), None),
        (second_group["id"], a.id): ("member", at(5), at(5), None),
    }
    changes = [(row.group_id, row.customer_id, row.kind) for row in db.scalars(
        select(GroupMemberChange).order_by(GroupMemberChange.at, GroupMemberChange.id))]
    assert changes == [(first_group["id"], a.id, "joined"), (first_group["id"], b.id, "joined"),
                       (first_group["id"], a.id, "left"), (first_group["id"], a.id, "joined"),
                       (second_group["id"], a.id, "joined")]
