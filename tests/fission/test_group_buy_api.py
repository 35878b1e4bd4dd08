"""Group-buy and bargains through the API on both backends: the public contract (paths,
fields, error codes), store scoping and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fission.group_buy_support import deal_payload, make_shop
from tests.support.factories import make_api_key, make_store
from yutang.access.roles import Role
from yutang.kit.clock import set_now_source
from yutang.pool.models import Order

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def post(client: TestClient, api_key: str, path: str, body: dict[str, Any],
         status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers(api_key))
    assert response.status_code == status, response.text
    return dict(response.json())


def test_group_buy_contract(client: TestClient, db: Session) -> None:
    set_now_source(lambda: T0)
    _, customers = make_shop(db, 5)
    key = make_api_key(db, Role.HQ_OPERATOR)
    deal = post(client, key, "/api/v1/group-buy-deals", deal_payload())
    assert {k: deal[k] for k in ("product_sku", "bait_price_fen", "list_price_fen",
                                 "team_size", "time_limit_minutes", "stock", "sold")} == {
        "product_sku": "PHOTO-SET", "bait_price_fen": 9_900, "list_price_fen": 150_000,
        "team_size": 3, "time_limit_minutes": 60, "stock": 100, "sold": 0}
    team = post(client, key, f"/api/v1/group-buy-deals/{deal['id']}/teams",
                {"leader_customer_id": customers[0].id})
    assert {"id", "deal_id", "status", "expires_at", "members"} <= set(team)
    assert (team["deal_id"], team["status"]) == (deal["id"], "open")
    assert datetime.fromisoformat(team["expires_at"]) == T0 + timedelta(minutes=60)
    (leader,) = team["members"]
    assert {"customer_id", "joined_at", "order_id"} <= set(leader)
    assert leader["customer_id"] == customers[0].id
    for customer in customers[1:3]:
        post(client, key, f"/api/v1/group-buy-teams/{team['id']}/members",
             {"customer_id": customer.id})
    full = post(client, key, f"/api/v1/group-buy-teams/{team['id']}/members",
                {"customer_id": customers[3].id}, status=409)
    assert full["error"]["code"] == "team_full"
    read = client.get(f"/api/v1/group-buy-teams/{team['id']}", headers=headers(key)).json()
    assert read["status"] == "succeeded"
    assert [member["customer_id"] for member in read["members"]] == [
        customer.id for customer in customers[:3]]

    other = post(client, key, f"/api/v1/group-buy-deals/{deal['id']}/teams",
                 {"leader_customer_id": customers[3].id})
    set_now_source(lambda: T0 + timedelta(minutes=61))
    closed = post(client, key, f"/api/v1/group-buy-teams/{other['id']}/members",
                  {"customer_id": customers[4].id}, status=409)
    assert closed["error"]["code"] == "team_closed"
    assert db.scalar(select(func.count()).select_from(Order).where(
        Order.source == "group_buy")) == 4
    conversion = client.get(f"/api/v1/group-buy-deals/{deal['id']}/conversion",
                            headers=headers(key)).json()
    assert (conversion["bait_buyers"], conversion["converted"]) == (3, 0)
    missing = client.get("/api/v1/group-buy-teams/999999", headers=headers(key))
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404, "group_buy_team_not_found")
    bad = post(client, key, "/api/v1/group-buy-deals",
               deal_payload(bait_price_fen=200_000), status=422)
    assert bad["error"]["code"] == "invalid_payload"


def test_staff_may_not_create_deals_and_see_only_their_store_s_teams(
        client: TestClient, db: Session) -> None:
    set_now_source(lambda: T0)
    store, customers = make_shop(db, 1)
    hq = make_api_key(db, Role.HQ_OPERATOR)
    deal = post(client, hq, "/api/v1/group-buy-deals", deal_payload())
    team = post(client, hq, f"/api/v1/group-buy-deals/{deal['id']}/teams",
                {"leader_customer_id": customers[0].id})
    own_staff = make_api_key(db, Role.STAFF, store)
    other_staff = make_api_key(db, Role.STAFF, make_store(db, "GX9"))
    refused = post(client, own_staff, "/api/v1/group-buy-deals", deal_payload(), status=403)
    assert refused["error"]["code"] == "role_not_allowed"
    assert client.get(f"/api/v1/group-buy-teams/{team['id']}",
                      headers=headers(own_staff)).status_code == 200
    hidden = client.get(f"/api/v1/group-buy-teams/{team['id']}", headers=headers(other_staff))
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (
        404, "group_buy_team_not_found")


def test_bargain_contract(client: TestClient, db: Session) -> None:
    set_now_source(lambda: T0)
    _, customers = make_shop(db, 3)
    key = make_api_key(db, Role.HQ_OPERATOR)
    bargain = post(client, key, "/api/v1/bargains", {
        "customer_id": customers[0].id, "product_sku": "CAKE-6", "list_price_fen": 19_900,
        "floor_price_fen": 9_900, "helps_needed": 2, "time_limit_minutes": 60, "seed": 3})
    assert (bargain["current_price_fen"], bargain["helps_done"], bargain["status"]) == (
        19_900, 0, "open")
    assert "cuts_fen" not in bargain  # the future cuts stay secret
    first = post(client, key, f"/api/v1/bargains/{bargain['id']}/helps",
                 {"customer_id": customers[1].id})
    again = post(client, key, f"/api/v1/bargains/{bargain['id']}/helps",
                 {"customer_id": customers[1].id}, status=409)
    assert again["error"]["code"] == "already_helped"
    own = post(client, key, f"/api/v1/bargains/{bargain['id']}/helps",
               {"customer_id": customers[0].id}, status=409)
    assert own["error"]["code"] == "cannot_help_own_bargain"
    set_now_source(lambda: T0 + timedelta(minutes=60))
    late = post(client, key, f"/api/v1/bargains/{bargain['id']}/helps",
                {"customer_id": customers[2].id}, status=409)
    assert late["error"]["code"] == "bargain_expired"
    read = client.get(f"/api/v1/bargains/{bargain['id']}", headers=headers(key)).json()
    assert (read["helps_done"], read["status"]) == (1, "expired")
    assert read["current_price_fen"] == 19_900 - first["cut_fen"] == first["current_price_fen"]
    invalid = post(client, key, "/api/v1/bargains", {
        "customer_id": customers[0].id, "product_sku": "CAKE-6", "list_price_fen": 100,
        "floor_price_fen": 98, "helps_needed": 3, "time_limit_minutes": 60}, status=422)
    assert invalid["error"]["code"] == "invalid_payload"
