"""Groups and group codes through the API on both backends: creation with the store's
capacity, members in and out, routing to the least-full group, auto-open and
``no_group_available``, scanning twice, filters, store scoping, probes and the rule."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.groups.support import create_group, make_shop
from yutang.access.models import AuditEntry
from yutang.access.roles import Role
from yutang.groups.models import Group, GroupMember, GroupMemberChange


def _error(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_a_group_takes_the_store_capacity_and_counts_its_members(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=3)
    group = create_group(client, shop, wecom_chat_id="wrGroupA")
    assert (group["capacity"], group["members_count"], group["room"]) == (50, 0, 50)
    assert (group["store_code"], group["owner_username"]) == (shop.store.code,
                                                              shop.owner.username)
    for customer in shop.customers:
        response = client.post(f"/api/v1/groups/{group['id']}/members",
                               json={"customer_id": customer.id}, headers=shop.headers)
        assert response.status_code == 201, response.text
    again = client.post(f"/api/v1/groups/{group['id']}/members",
                        json={"customer_id": shop.customers[0].id}, headers=shop.headers)
    assert again.status_code == 200 and again.json()["members_count"] == 3
    left = client.post(f"/api/v1/groups/{group['id']}/members/leave",
                       json={"customer_id": shop.customers[1].id}, headers=shop.headers)
    assert left.status_code == 200 and left.json()["members_count"] == 2
    not_member = client.post(f"/api/v1/groups/{group['id']}/members/leave",
                             json={"customer_id": shop.customers[1].id}, headers=shop.headers)
    assert (not_member.status_code, _error(not_member)) == (409, "not_a_group_member")
    read = client.get(f"/api/v1/groups/{group['id']}", headers=shop.headers).json()
    assert (read["members_count"], read["capacity"], read["health"]["status"]) == (
        2, 50, "unjudged")
    members = client.get(f"/api/v1/groups/{group['id']}/members", headers=shop.headers).json()
    assert sorted(member["customer_id"] for member in members) == sorted(
        [shop.customers[0].id, shop.customers[2].id])
    kinds = db.scalars(select(GroupMemberChange.kind).where(
        GroupMemberChange.group_id == group["id"]).order_by(GroupMemberChange.id)).all()
    assert kinds == ["joined", "joined", "joined", "left"]
    taken = create_group(client, shop, name="another")
    duplicate_chat = client.post("/api/v1/groups", json={
        "store_code": shop.store.code, "name": "x", "owner_username": shop.owner.username,
        "wecom_chat_id": "wrGroupA"}, headers=shop.headers)
    assert (duplicate_chat.status_code, _error(duplicate_chat)) == (409, "wecom_chat_taken")
    assert taken["wecom_chat_id"] is None


def test_a_full_group_refuses_a_seat_and_the_store_capacity_applies_to_new_groups(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=3)
    response = client.put(f"/api/v1/stores/{shop.store.code}/group-capacity",
                          json={"capacity": 2}, headers=shop.headers)
    assert response.json() == {"capacity": 2}
    group = create_group(client, shop)
    assert group["capacity"] == 2
    outcomes = [client.post(f"/api/v1/groups/{group['id']}/members",
                            json={"customer_id": customer.id}, headers=shop.headers)
                for customer in shop.customers]
    assert [outcome.status_code for outcome in outcomes] == [201, 201, 409]
    assert _error(outcomes[2]) == "group_full"
    assert db.scalar(select(func.count()).select_from(GroupMember).where(
        GroupMember.group_id == group["id"])) == 2
    db.expire_all()
    assert db.get(Group, group["id"]).member_count == 2  # type: ignore[union-attr]


def test_a_code_routes_to_the_least_full_group_and_opens_the_next_when_all_are_full(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=9)
    first = create_group(client, shop, name="一群", capacity=3)
    second = create_group(client, shop, name="二群", capacity=3)
    client.post(f"/api/v1/groups/{first['id']}/members",
                json={"customer_id": shop.customers[8].id}, headers=shop.headers)
    code = client.post("/api/v1/group-codes", json={
        "store_code": shop.store.code, "name": "鲜果", "group_ids": [first["id"], second["id"]],
        "name_pattern": "{name}福利{n}群", "capacity": 3}, headers=shop.headers)
    assert code.status_code == 201, code.text
    code_id = code.json()["id"]

    def scan(customer_id: int) -> dict[str, Any]:
        response = client.post(f"/api/v1/group-codes/{code_id}/scan",
                               json={"customer_id": customer_id}, headers=shop.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    routed = [scan(customer.id) for customer in shop.customers[:6]]
    # second (0) ← c0, then both 1 → first (lower id) ← c1, second ← c2, first ← c3 (3 full),
    # second ← c4 (3 full), all full: opened ← c5.
    assert [item["group"]["id"] for item in routed[:5]] == [
        second["id"], first["id"], second["id"], first["id"], second["id"]]
    assert routed[5]["opened_new_group"] is True
    opened = routed[5]["group"]
    assert (opened["name"], opened["capacity"], opened["members_count"]) == ("鲜果福利1群", 3, 1)
    assert opened["owner_user_id"] == shop.owner.id and opened["code_id"] == code_id
    repeat = scan(shop.customers[0].id)
    assert (repeat["already_member"], repeat["group"]["id"]) == (True, second["id"])
    assert repeat["group"]["members_count"] == 3
    read = client.get(f"/api/v1/group-codes/{code_id}", headers=shop.headers).json()
    assert read["scans"] == 7 and read["opened_groups"] == 1
    assert sorted((group["name"], group["members_count"]) for group in read["groups"]) == [
        ("一群", 3), ("二群", 3), ("鲜果福利1群", 1)]


def test_a_customer_who_left_scans_back_into_their_old_row_and_a_newcomer_gets_a_new_one(
        client: TestClient, db: Session) -> None:
    """A seat in a group the customer left is their past row made current again (one row per
    customer and group), a seat in another group a new row; counts and timeline follow."""
    shop = make_shop(db, customers=3)
    group = create_group(client, shop, name="回流群", capacity=3)
    code_id = client.post("/api/v1/group-codes", json={
        "store_code": shop.store.code, "name": "回流", "group_ids": [group["id"]],
        "capacity": 3}, headers=shop.headers).json()["id"]
    leaver, other = shop.customers[0].id, shop.customers[1].id

    def scan(customer_id: int) -> dict[str, Any]:
        response = client.post(f"/api/v1/group-codes/{code_id}/scan",
                               json={"customer_id": customer_id}, headers=shop.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    first = scan(leaver)
    row = db.scalars(select(GroupMember).where(GroupMember.customer_id == leaver)).one()
    left = client.post(f"/api/v1/groups/{group['id']}/members/leave",
                       json={"customer_id": leaver}, headers=shop.headers)
    assert left.status_code == 200, left.text
    assert left.json()["members_count"] == 0
    back = scan(leaver)
    assert (back["already_member"], back["opened_new_group"]) == (False, False)
    assert back["group"]["id"] == first["group"]["id"] == group["id"]
    assert back["group"]["members_count"] == 1
    db.expire_all()
    rows = db.scalars(select(GroupMember).where(GroupMember.customer_id == leaver)).all()
    assert [(item.id, item.status) for item in rows] == [(row.id, "member")]
    assert scan(other)["group"]["members_count"] == 2
    assert db.scalar(select(func.count()).select_from(GroupMember).where(
        GroupMember.group_id == group["id"])) == 2
    timeline = db.scalars(select(GroupMemberChange.kind).where(
        GroupMemberChange.customer_id == leaver).order_by(GroupMemberChange.id)).all()
    assert timeline == ["joined", "left", "joined"]


def test_no_group_available_only_when_the_code_may_not_open_one(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=3)
    group = create_group(client, shop, capacity=1)
    code = client.post("/api/v1/group-codes", json={
        "store_code": shop.store.code, "name": "满员", "group_ids": [group["id"]],
        "auto_open": False}, headers=shop.headers).json()
    first = client.post(f"/api/v1/group-codes/{code['id']}/scan",
                        json={"customer_id": shop.customers[0].id}, headers=shop.headers)
    assert first.status_code == 200
    refused = client.post(f"/api/v1/group-codes/{code['id']}/scan",
                          json={"customer_id": shop.customers[1].id}, headers=shop.headers)
    assert (refused.status_code, _error(refused)) == (409, "no_group_available")
    assert db.scalar(select(func.count()).select_from(Group).where(
        Group.store_id == shop.store.id)) == 1
    assert db.scalar(select(func.count()).select_from(GroupMember).where(
        GroupMember.customer_id == shop.customers[1].id)) == 0
    missing = client.post("/api/v1/group-codes/999999/scan",
                          json={"customer_id": shop.customers[1].id}, headers=shop.headers)
    assert (missing.status_code, _error(missing)) == (404, "group_code_not_found")


def test_filters_and_store_scoping(client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=1)
    other = make_shop(db, customers=1)
    mine = create_group(client, shop, name="mine")
    theirs = create_group(client, other, name="theirs")
    db.get(Group, theirs["id"]).status = "dead"  # type: ignore[union-attr]
    db.flush()
    listed = client.get(f"/api/v1/groups?store={shop.store.code}", headers=shop.headers).json()
    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    dead = client.get("/api/v1/groups?status=dead", headers=shop.headers).json()
    assert theirs["id"] in [item["id"] for item in dead["items"]]
    assert mine["id"] not in [item["id"] for item in dead["items"]]
    owned = client.get(f"/api/v1/groups?owner={other.owner.username}",
                       headers=shop.headers).json()
    assert [item["id"] for item in owned["items"]] == [theirs["id"]]
    staff = make_shop(db, customers=0, role=Role.STAFF)
    staff_group = create_group_as_hq(client, shop, staff)
    seen = client.get("/api/v1/groups", headers=staff.headers).json()
    assert [item["id"] for item in seen["items"]] == [staff_group]
    hidden = client.get(f"/api/v1/groups/{mine['id']}", headers=staff.headers)
    assert (hidden.status_code, _error(hidden)) == (404, "group_not_found")
    forbidden = client.post("/api/v1/groups", json={"store_code": staff.store.code,
                                                    "name": "x"}, headers=staff.headers)
    assert (forbidden.status_code, _error(forbidden)) == (403, "role_not_allowed")


def create_group_as_hq(client: TestClient, hq: Any, staff: Any) -> int:
    response = client.post("/api/v1/groups", json={
        "store_code": staff.store.code, "name": "staff's", "owner_username":
            staff.owner.username}, headers=hq.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_probes_count_claims_once_each_and_never_beyond_the_packets(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db, customers=4)
    group = create_group(client, shop)
    probe = client.post(f"/api/v1/groups/{group['id']}/probes", json={"packets": 2,
                                                                      "amount_fen": 200},
                        headers=shop.headers).json()
    outcomes = [client.post(f"/api/v1/group-probes/{probe['id']}/claims",
                            json={"customer_id": customer_id}, headers=shop.headers)
                for customer_id in (shop.customers[0].id, shop.customers[0].id,
                                    shop.customers[1].id, shop.customers[2].id)]
    assert [outcome.status_code for outcome in outcomes] == [201, 200, 201, 200]
    final = outcomes[-1].json()
    assert (final["claimed"], final["fully_claimed"]) == (2, True)
    assert final["seconds_to_last_claim"] is not None and final["seconds_to_last_claim"] >= 0


def test_the_rule_defaults_to_seed_002_and_is_saved_with_an_audit_row(
        client: TestClient, db: Session) -> None:
    shop = make_shop(db)
    assert client.get("/api/v1/group-rule", headers=shop.headers).json() == {
        "probe_claim_minutes": 6, "min_active_share_percent": 10, "window_weeks": 4,
        "saved": False}
    saved = client.put("/api/v1/group-rule", json={"probe_claim_minutes": 5,
                                                   "min_active_share_percent": 15,
                                                   "window_weeks": 3}, headers=shop.headers)
    assert saved.json() == {"probe_claim_minutes": 5, "min_active_share_percent": 15,
                            "window_weeks": 3, "saved": True}
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "group_rule.save")) == 1
    invalid = client.put("/api/v1/group-rule", json={"probe_claim_minutes": 0,
                                                     "min_active_share_percent": 15,
                                                     "window_weeks": 3}, headers=shop.headers)
    assert invalid.status_code == 422
    store_key = make_shop(db, role=Role.STORE_MANAGER)
    refused = client.put("/api/v1/group-rule", json={"probe_claim_minutes": 5,
                                                     "min_active_share_percent": 15,
                                                     "window_weeks": 3},
                         headers=store_key.headers)
    assert refused.status_code == 403
