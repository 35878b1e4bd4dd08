"""Partners (友商) through the API on both backends: cross-referral codes both ways, their
offers, and how many customers each side sent the other (each counted once)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fission.referral_support import Api, error_code, shop
from tests.support.factories import make_api_key
from yutang.access.roles import Role


def test_partners_send_customers_both_ways(client: TestClient, db: Session) -> None:
    _, api, (ours, *theirs) = shop(db, client, customers=5)
    partner = api.post("/partners", {"code": "flower-shop", "name": "花艺工作室",
                                     "category": "flowers", "outbound_code": "FL-88"},
                       expect=201).json()
    assert partner["inbound_code"].startswith("rf") and partner["outbound_code"] == "FL-88"
    assert (partner["sent_to_us"], partner["sent_to_them"]) == (0, 0)
    taken = api.post("/partners", {"code": "flower-shop", "name": "又一家"})
    assert taken.status_code == 409 and error_code(taken) == "partner_code_taken"

    offer = api.post(f"/partners/{partner['id']}/offers",
                     {"title": "鲜花9折", "price_fen": 9_900}, expect=201).json()
    for number, customer in enumerate(theirs[:3]):
        api.refer(partner["inbound_code"], customer.id,
                  status="joined" if number < 2 else "clicked", expect=201)
    edge = api.refer(partner["inbound_code"], theirs[3].id, expect=201).json()
    assert (edge["referrer_kind"], edge["referrer_partner_id"]) == ("partner", partner["id"])
    api.move(edge["id"], "rejected", reason="测试号", expect=200)

    sent = api.post(f"/partners/{partner['id']}/referrals",
                    {"customer_id": ours.id, "offer_id": offer["id"]}, expect=201).json()
    again = api.post(f"/partners/{partner['id']}/referrals", {"customer_id": ours.id},
                     expect=200).json()
    assert again["id"] == sent["id"]  # counted once
    wrong_offer = api.post(f"/partners/{partner['id']}/referrals",
                           {"customer_id": ours.id, "offer_id": offer["id"] + 999})
    assert wrong_offer.status_code == 404 and error_code(wrong_offer) == "partner_not_found"

    read = api.get(f"/partners/{partner['id']}")
    assert (read["sent_to_us"], read["joined_from_them"], read["sent_to_them"]) == (3, 2, 1)
    assert [item["title"] for item in read["offers"]] == ["鲜花9折"]
    assert [item["code"] for item in api.get("/partners")] == ["flower-shop"]
    missing = api.client.get("/api/v1/partners/999999", headers=api.headers)
    assert missing.status_code == 404 and error_code(missing) == "partner_not_found"


def test_only_hq_manages_partners(client: TestClient, db: Session) -> None:
    store, api, _ = shop(db, client, customers=0)
    staff = Api(client, make_api_key(db, Role.STAFF, store))
    refused = staff.post("/partners", {"code": "x", "name": "x"})
    assert refused.status_code == 403
    assert api.get("/partners") == []
