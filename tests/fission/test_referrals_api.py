"""Referral codes and edges through the API on both backends: codes for customers, KOCs and
staff; single-level attribution (one referrer per customer, first come); self-referrals and
cycles refused; forward-only steps; store scoping."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fission.referral_support import Api, edges_of, error_code, shop
from tests.support.factories import make_api_key, make_customer, make_store, make_user
from yutang.access.models import AuditEntry
from yutang.access.roles import Role
from yutang.fission.models import ReferralEdge


def test_codes_for_customers_kocs_and_staff(client: TestClient, db: Session) -> None:
    store, api, (alice, bob, *_) = shop(db, client)
    made = api.post("/referral-codes", {"customer_id": alice.id}, expect=201).json()
    assert made["owner_kind"] == "customer" and made["customer_id"] == alice.id
    assert made["code"].startswith("rf") and made["url"].endswith(f"/i/{made['code']}")
    again = api.post("/referral-codes", {"customer_id": alice.id}, expect=200).json()
    assert again["code"] == made["code"]  # one general code per owner and kind
    koc = api.post("/referral-codes", {"owner_kind": "koc", "customer_id": bob.id},
                   expect=201).json()
    assert koc["owner_kind"] == "koc"
    make_user(db, "guide", Role.STAFF, store)
    staff = api.post("/referral-codes", {"owner_kind": "staff", "staff_username": "guide"},
                     expect=201).json()
    assert staff["staff_user_id"] is not None and staff["store_id"] == store.id
    bad = api.post("/referral-codes", {"owner_kind": "staff", "customer_id": alice.id})
    assert bad.status_code == 422 and error_code(bad) == "invalid_payload"
    assert api.get(f"/referral-codes/{made['code']}")["referrals"] == 0
    missing = api.client.get("/api/v1/referral-codes/rfnope", headers=api.headers)
    assert missing.status_code == 404 and error_code(missing) == "referral_code_not_found"


def test_one_referrer_per_customer_and_no_self_referral(client: TestClient,
                                                        db: Session) -> None:
    _, api, (alice, bob, carol, *_) = shop(db, client)
    alice_code, bob_code = api.code_of(alice.id), api.code_of(bob.id)

    first = api.refer(alice_code, carol.id)
    assert first.status_code == 201, first.text
    edge = first.json()
    assert (edge["status"], edge["referrer_kind"], edge["referrer_customer_id"],
            edge["customer_id"]) == ("clicked", "customer", alice.id, carol.id)
    again = api.refer(alice_code, carol.id)
    assert again.status_code == 200 and again.json()["id"] == edge["id"]

    second = api.refer(bob_code, carol.id)
    assert second.status_code == 409 and error_code(second) == "already_referred"
    assert second.json()["error"]["details"]["referral_id"] == edge["id"]
    assert edges_of(db, carol.id) == 1
    assert db.scalar(select(ReferralEdge.referrer_customer_id).where(
        ReferralEdge.referee_customer_id == carol.id)) == alice.id  # the first referrer keeps it

    self_referral = api.refer(alice_code, alice.id)
    assert self_referral.status_code == 409 and error_code(self_referral) == "self_referral"
    assert edges_of(db, alice.id) == 0
    assert api.get(f"/referral-codes/{alice_code}")["referrals"] == 1


def test_a_cycle_is_refused(client: TestClient, db: Session) -> None:
    _, api, (alice, bob, carol, *_) = shop(db, client)
    assert api.refer(api.code_of(alice.id), bob.id).status_code == 201
    assert api.refer(api.code_of(bob.id), carol.id).status_code == 201
    cycle = api.refer(api.code_of(carol.id), alice.id)  # alice is above carol
    assert cycle.status_code == 409 and error_code(cycle) == "referral_cycle"
    assert edges_of(db, alice.id) == 0


def test_steps_move_forward_only(client: TestClient, db: Session) -> None:
    _, api, (alice, bob, carol, dave, *_) = shop(db, client)
    code = api.code_of(alice.id)
    edge = api.refer(code, bob.id).json()
    early = api.move(edge["id"], "rewarded")
    assert early.status_code == 409 and error_code(early) == "referral_status_conflict"

    joined = api.move(edge["id"], "joined", expect=200).json()
    assert joined["status"] == "joined" and joined["joined_at"] is not None
    assert api.move(edge["id"], "joined", expect=200).json()["joined_at"] == joined["joined_at"]
    ordered = api.move(edge["id"], "first_order", expect=200).json()
    assert ordered["status"] == "first_order"
    rewarded = api.move(edge["id"], "rewarded", expect=200).json()
    assert rewarded["status"] == "rewarded"
    refused = api.move(edge["id"], "rejected", reason="刷单")
    assert refused.status_code == 409 and error_code(refused) == "referral_status_conflict"

    other = api.refer(code, carol.id, status="joined").json()
    assert other["status"] == "joined"
    assert api.move(other["id"], "rejected", reason="同一设备").status_code == 200  # fraud
    rejected = api.get(f"/referrals/{other['id']}")
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "同一设备")
    after = api.move(other["id"], "first_order")
    assert after.status_code == 409 and error_code(after) == "referral_status_conflict"
    assert api.get(f"/referrals/{other['id']}")["first_order_at"] is None
    no_reason = api.move(other["id"], "rejected")
    assert no_reason.status_code == 422
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "referral.reject")) == 1

    clicked_back = api.move(edge["id"], "clicked")
    assert clicked_back.status_code == 422
    unknown = api.refer("rf-nothing", dave.id)
    assert unknown.status_code == 404 and error_code(unknown) == "referral_code_not_found"


def test_staff_of_another_store_see_no_referral(client: TestClient, db: Session) -> None:
    _store, api, (alice, bob, *_) = shop(db, client)
    edge = api.refer(api.code_of(alice.id), bob.id).json()
    other_store = make_store(db, "OTHER")
    stranger = make_customer(db, store=other_store, name="外人", phone="13700009999")
    other = Api(client, make_api_key(db, Role.STAFF, other_store))
    hidden = other.client.get(f"/api/v1/referrals/{edge['id']}", headers=other.headers)
    assert hidden.status_code == 404 and error_code(hidden) == "referral_not_found"
    unseen = other.refer(api.code_of(alice.id), bob.id)
    assert unseen.status_code == 404 and error_code(unseen) == "customer_not_found"
    own = other.refer(api.code_of(alice.id), stranger.id)
    assert own.status_code == 201  # a code works for a friend of any store
    analyst = Api(client, make_api_key(db, Role.ANALYST))
    denied = analyst.refer(api.code_of(alice.id), bob.id)
    assert denied.status_code == 403
