"""The public contract: paths, fields and error codes of segments, content and campaigns."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.campaigns.support import new_customer, new_store
from tests.support.factories import make_api_key
from yutang.access.roles import Role


def test_segments_content_and_campaigns_over_the_api(client: TestClient, db: Session) -> None:
    store = new_store(db)
    customers = [new_customer(db, store, name=f"赵{number}号") for number in range(3)]
    new_customer(db, store, consent=False)
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    analyst = {"Authorization": f"Bearer {make_api_key(db, Role.ANALYST)}"}
    db.commit()

    bad = client.post("/api/v1/segments", headers=headers, json={
        "name": "坏规则", "rule": {"all": [{"field": "store", "op": "eq", "value": store.id},
                                        {"field": "rfm_tier", "op": "eq", "value": "gold"}]}})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_segment_rule"
    assert bad.json()["error"]["details"]["path"] == "$.all[1].value"

    rule = {"field": "store", "op": "eq", "value": store.id}
    created = client.post("/api/v1/segments", headers=headers, json={"name": "本店", "rule": rule})
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]
    counted = client.post(f"/api/v1/segments/{segment_id}/count", headers=headers)
    assert counted.json()["count"] == 4
    preview = client.post("/api/v1/segments/preview", headers=analyst, json={"rule": rule})
    assert preview.json()["personal_data"] == "pseudonymous"
    assert all(row["name"] is None and row["id"] is None for row in preview.json()["customers"])
    refused = client.post("/api/v1/segments", headers=analyst, json={"name": "x", "rule": rule})
    assert refused.status_code == 403

    unknown = client.post("/api/v1/content", headers=headers, json={
        "name": "欢迎", "category": "welcome", "body": "{name}你好 {vip_level}"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_template_variable"
    assert unknown.json()["error"]["details"]["variables"] == ["vip_level"]
    content = client.post("/api/v1/content", headers=headers, json={
        "name": "欢迎", "category": "welcome", "body": "{name}你好，欢迎来{store}",
        "attachments": [{"kind": "link", "url": "https://example.com/a", "title": "新品"}]})
    assert content.status_code == 201 and content.json()["status"] == "draft"
    content_id = content.json()["id"]
    shown = client.get(f"/api/v1/content/{content_id}/preview",
                       params={"customer_id": customers[0].id}, headers=headers)
    assert shown.json()["text"] == f"赵**你好，欢迎来{store.name}"

    campaign = client.post("/api/v1/campaigns", headers=headers, json={
        "name": "周二特惠", "channel": "wecom_single", "audience_kind": "segment",
        "segment_id": segment_id, "content_id": content_id, "schedule_kind": "recurring",
        "weekday": 2, "time_of_day": "12:00", "holdout_share": 0.0})
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    draft = client.post(f"/api/v1/campaigns/{campaign_id}/status", headers=headers,
                        json={"status": "active"})
    assert draft.status_code == 409
    assert draft.json()["error"]["code"] == "content_not_approved"
    assert client.post(f"/api/v1/content/{content_id}/approve",
                       headers=headers).json()["status"] == "approved"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/status", headers=headers,
                       json={"status": "active"}).json()["status"] == "active"
    plan = client.get(f"/api/v1/campaigns/{campaign_id}/plan-preview", headers=headers).json()
    assert plan["audience"] == 4 and plan["suppressed_by"] == {"opted_out": 1}
    assert plan["planned"] + plan["holdout"] == 3
    wrong = client.post("/api/v1/campaigns", headers=headers, json={
        "name": "群发", "channel": "wecom_group", "audience_kind": "segment",
        "segment_id": segment_id, "content_id": content_id, "schedule_kind": "once",
        "send_at": "2026-12-08T04:00:00Z"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_campaign"
    results = client.get(f"/api/v1/campaigns/{campaign_id}/results", headers=analyst)
    assert results.status_code == 200 and results.json()["treated"] == 0
    assert client.get("/api/v1/campaigns/999999", headers=headers).json()["error"][
        "code"] == "campaign_not_found"
