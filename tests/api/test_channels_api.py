"""Channels, spend, channel codes and first-touch attribution through the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import make_api_key, make_store, make_user
from yutang.access.roles import Role
from yutang.pool.models import ChannelSpend, Order, Touch


def _contact(event_id: str, state: str, unionid: str, at: str,
             kind: str = "add_contact") -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": at,
            "identities": {"wechat_unionid": unionid}, "properties": {"state": state}}


def test_codes_attribute_the_first_touch_and_orders_the_last(client: TestClient,
                                                            db: Session) -> None:
    store = make_store(db, "SH01")
    make_user(db, "wang", Role.STAFF, store)
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    for code, name, kind, domain in (("WECOM-SH", "企微活码", "wecom", "private"),
                                     ("DOUYIN-ADS", "抖音投放", "douyin", "paid")):
        created = client.post("/api/v1/channels", headers=headers,
                              json={"code": code, "name": name, "kind": kind, "domain": domain})
        assert created.status_code == 201, created.text
    assert client.post("/api/v1/channels", headers=headers, json={
        "code": "WECOM-SH", "name": "x", "kind": "wecom", "domain": "private"}
    ).json()["error"]["code"] == "channel_code_taken"
    assert client.post("/api/v1/channels", headers=headers, json={
        "code": "X", "name": "x", "kind": "fax", "domain": "private"}).status_code == 422

    spend = client.post("/api/v1/channels/DOUYIN-ADS/spend", headers=headers,
                        json={"period": "2026-10", "amount_fen": 500_000})
    assert spend.json() == {"channel_code": "DOUYIN-ADS", "period": "2026-10",
                            "amount_fen": 500_000}
    client.post("/api/v1/channels/DOUYIN-ADS/spend", headers=headers,
                json={"period": "2026-10", "amount_fen": 650_000})
    assert [row.amount_fen for row in db.scalars(select(ChannelSpend))] == [650_000]
    bad_period = client.post("/api/v1/channels/DOUYIN-ADS/spend", headers=headers,
                             json={"period": "2026-13", "amount_fen": 1})
    assert bad_period.status_code == 422
    missing = client.post("/api/v1/channels/NOPE/spend", headers=headers,
                          json={"period": "2026-10", "amount_fen": 1})
    assert missing.json()["error"]["code"] == "channel_not_found"

    codes = {}
    for channel in ("WECOM-SH", "DOUYIN-ADS"):
        response = client.post("/api/v1/channel-codes", headers=headers, json={
            "channel_code": channel, "store_code": "SH01", "staff_username": "wang",
            "campaign": "双十一"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) >= {"id", "state", "url", "qr_png_url"}
        assert len(body["state"]) <= 30 and body["url"].endswith(f"/r/{body['state']}")
        codes[channel] = body
    png = client.get(codes["WECOM-SH"]["qr_png_url"], headers=headers)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get(codes["WECOM-SH"]["qr_png_url"].replace(".png", ".svg"), headers=headers)
    assert svg.headers["content-type"].startswith("image/svg+xml")

    events = [
        _contact("c1", codes["WECOM-SH"]["state"], "U-new", "2026-10-02T10:00:00+08:00"),
        _contact("c2", codes["DOUYIN-ADS"]["state"], "U-new", "2026-10-05T10:00:00+08:00",
                 kind="scan_code"),
    ]
    assert client.post("/api/v1/events", headers=headers,
                       json={"events": events}).json()["accepted"] == 2
    assert client.post("/api/v1/events", headers=headers,
                       json={"events": events}).json()["duplicates"] == 2
    touches = db.scalars(select(Touch).order_by(Touch.at)).all()
    assert [(touch.kind, touch.code_id) for touch in touches] == [
        ("add_contact", codes["WECOM-SH"]["id"]), ("scan_code", codes["DOUYIN-ADS"]["id"])]
    customer_id = touches[0].customer_id
    detail = client.get(f"/api/v1/customers/{customer_id}", headers=headers).json()
    acquisition = detail["customer"]["acquisition"]
    assert (acquisition["channel"], acquisition["store"], acquisition["staff"],
            acquisition["code_id"]) == ("企微活码", "SH01", "wang", codes["WECOM-SH"]["id"])
    assert acquisition["at"].startswith("2026-10-02T02:00:00")

    order = {"source": "pos", "external_order_id": "P1", "status": "paid",
             "identities": {"wechat_unionid": "U-new"},
             "ordered_at": "2026-10-06T12:00:00+08:00", "total_fen": 1990}
    assert client.post("/api/v1/orders", headers=headers,
                       json={"orders": [order]}).json()["accepted"] == 1
    stored = db.scalars(select(Order)).one()
    assert stored.last_touch_id == touches[1].id
    assert stored.channel_id == touches[1].channel_id

    listed = client.get("/api/v1/channel-codes", headers=headers).json()
    counts = {item["channel_code"]: (item["scans"], item["adds"]) for item in listed}
    assert counts == {"WECOM-SH": (0, 1), "DOUYIN-ADS": (1, 0)}


def test_store_managers_make_codes_for_their_own_store_only(client: TestClient,
                                                            db: Session) -> None:
    own, other = make_store(db, "SH01"), make_store(db, "BJ01")
    hq = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    manager = {"Authorization": f"Bearer {make_api_key(db, Role.STORE_MANAGER, own)}"}
    staff = {"Authorization": f"Bearer {make_api_key(db, Role.STAFF, own)}"}
    client.post("/api/v1/channels", headers=hq,
                json={"code": "STORE", "name": "门店", "kind": "store", "domain": "private"})
    assert client.post("/api/v1/channels", headers=manager, json={
        "code": "M", "name": "m", "kind": "store", "domain": "private"}).status_code == 403
    mine = client.post("/api/v1/channel-codes", headers=manager,
                       json={"channel_code": "STORE", "store_code": "SH01"})
    assert mine.status_code == 201
    theirs = client.post("/api/v1/channel-codes", headers=manager,
                         json={"channel_code": "STORE", "store_code": other.code})
    assert theirs.status_code == 404
    assert client.post("/api/v1/channel-codes", headers=staff,
                       json={"channel_code": "STORE", "store_code": "SH01"}).status_code == 403
