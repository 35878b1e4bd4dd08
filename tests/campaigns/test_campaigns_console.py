"""The campaigns console pages through a TestClient (both backends): a segment saved through
the builder's form with its count, a bad rule answered with the path of its node, content
written, approved and previewed with masked values, a campaign built through the form with
its exact plan preview per suppression rule, the calendar of the next four weeks, and the
results page's figures equal to the results service's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.campaigns.support import new_customer, new_store, order
from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import SYSTEM, make_user
from yutang.access.roles import Role
from yutang.campaigns import results, service
from yutang.campaigns.holdout import is_held_out
from yutang.campaigns.models import Campaign, Content, Delivery, DeliveryStatus, Segment
from yutang.campaigns.segment_rules import FIELDS
from yutang.console.i18n import catalog
from yutang.kit.clock import set_now_source, to_local
from yutang.kit.money import format_yuan

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert match is not None, name
    return match.group(1).strip()


def _reason_count(html: str, reason: str) -> int:
    match = re.search(rf'data-reason="{reason}">.*?data-testid="suppressed-count">([\d,]+)<',
                      html, re.S)
    assert match is not None, reason
    return int(match.group(1).replace(",", ""))


def test_the_builder_offers_every_field_with_labels_in_both_languages() -> None:
    assert {item.field for item in service.RULE_FIELDS} | {"rfm_tier"} == set(FIELDS)
    for locale in ("zh_CN", "en"):
        messages = catalog(locale)
        for item in service.RULE_FIELDS:
            assert f"campaigns.field.{item.field}" in messages
            assert all(f"campaigns.op.{op}" in messages for op in item.ops)
            assert all(f"campaigns.choice.{item.field}.{choice}" in messages
                       for choice in item.choices)


def test_hq_builds_a_segment_content_and_a_campaign_in_the_console(
        client: TestClient, db: Session) -> None:
    set_now_source(lambda: NOW)
    store = new_store(db)
    reachable = [new_customer(db, store, name=name) for name in ("王小明", "李华", "赵敏",
                                                                "钱多多")]
    opted_out = new_customer(db, store, consent=False)
    new_customer(db, store, consent=None)  # never asked
    new_customer(db, store, wecom=False)  # unreachable
    new_customer(db, new_store(db))  # another store: outside the segment
    make_user(db, "hq_campaigns", Role.HQ_OPERATOR)
    logged_in(client, "hq_campaigns")
    token = page_csrf_token(client, "/console/campaigns/segments")

    rule = {"all": [{"field": "store", "op": "eq", "value": store.id}]}
    bad = client.post("/console/campaigns/segments/preview", data={
        "csrf_token": token, "rule": json.dumps({"all": [{"field": "store", "op": "eq",
                                                          "value": "x"}]})})
    assert bad.status_code == 200 and 'data-path="$.all[0].value"' in bad.text
    live = client.post("/console/campaigns/segments/preview", data={
        "csrf_token": token, "rule": json.dumps(rule)})
    assert 'data-count="7"' in live.text and 'data-personal-data="masked"' in live.text
    assert "王**" in live.text and "王小明" not in live.text
    saved = client.post("/console/campaigns/segments", data={
        "csrf_token": token, "name": "静安全部", "description": "", "rule": json.dumps(rule)})
    assert saved.status_code == 200
    segment = db.scalars(select(Segment)).one()
    assert (segment.name, segment.rule, segment.last_count) == ("静安全部", rule, 7)
    assert _testid(client.get("/console/campaigns/segments").text, "count") == "7"

    written = client.post("/console/campaigns/content", data={
        "csrf_token": token, "name": "周末上新", "category": "promotion",
        "body": "{name}您好，{store}周末上新", "attachment_kind": "link",
        "attachment_url": "https://example.com/new", "attachment_title": "新品"})
    assert written.status_code == 200 and 'data-status="draft"' in written.text
    typo = client.post("/console/campaigns/content", data={
        "csrf_token": token, "name": "错字", "category": "promotion", "body": "{nmae}您好"})
    assert typo.status_code == 422
    content = db.scalars(select(Content)).one()
    approved = client.post(f"/console/campaigns/content/{content.id}/approve",
                           data={"csrf_token": token})
    assert 'data-status="approved"' in approved.text
    preview = client.get(f"/console/campaigns/content/{content.id}",
                         params={"customer_id": reachable[0].id})
    assert f"王**您好，{store.name}周末上新" in preview.text and "王小明" not in preview.text

    send_at = to_local(NOW + timedelta(days=1)).replace(hour=12, minute=0)
    created = client.post("/console/campaigns", data={
        "csrf_token": token, "name": "周二上新", "channel": "wecom_single",
        "audience_kind": "segment", "segment_id": str(segment.id),
        "content_id": str(content.id), "schedule_kind": "once",
        "send_at": send_at.strftime("%Y-%m-%dT%H:%M"), "holdout_percent": "50",
        "sender_userid": "staff-hq"})
    assert created.status_code == 200
    campaign = db.scalars(select(Campaign)).one()
    assert campaign.send_at == send_at.astimezone(UTC) and campaign.holdout_basis_points == 5000
    held = sum(is_held_out(campaign.id, customer.id, 5000) for customer in reachable)
    html = created.text
    assert _testid(html, "plan-audience") == "7"
    assert (_testid(html, "plan-planned"), _testid(html, "plan-holdout")) == (
        str(4 - held), str(held))
    assert _testid(html, "plan-suppressed") == "3"
    assert {reason: _reason_count(html, reason) for reason in
            ("opted_out", "no_consent", "unreachable", "risk", "customer_cap")} == {
        "opted_out": 1, "no_consent": 1, "unreachable": 1, "risk": 0, "customer_cap": 0}
    assert db.scalar(select(Delivery.id)) is None  # a preview writes nothing

    activated = client.post(f"/console/campaigns/{campaign.id}/status",
                            data={"csrf_token": token, "status": "active"})
    assert 'data-status="active"' in activated.text
    calendar = client.get("/console/campaigns/calendar").text
    days = re.findall(r'<td data-day="([\d-]+)"', calendar)
    assert len(days) == 28 and days[0] == to_local(NOW).date().isoformat()
    with_touch = [day for day in re.split(r'<td data-day="', calendar)[1:]
                  if f'data-campaign-id="{campaign.id}"' in day]
    assert [day[:10] for day in with_touch] == [send_at.date().isoformat()]

    service.plan_due(db, now=NOW + timedelta(days=1))
    assert "calendar-planned" in client.get("/console/campaigns/calendar").text
    moment = send_at.astimezone(UTC)
    db.execute(update(Delivery).where(Delivery.status == DeliveryStatus.PLANNED.value)
               .values(status=DeliveryStatus.SENT.value, sent_at=moment))
    buyer_held = is_held_out(campaign.id, reachable[0].id, 5000)
    order(db, reachable[0], at=moment + timedelta(days=1), paid_fen=12_300)
    order(db, opted_out, at=moment + timedelta(days=1), paid_fen=99_900)  # not in an arm
    page = client.get(f"/console/campaigns/{campaign.id}/results").text
    read = results.campaign_results(db, actor=SYSTEM, campaign_id=campaign.id)
    assert (read.treated, read.holdout) == (4 - held, held)
    assert (read.treated_conversions, read.holdout_conversions) == (
        (0, 1) if buyer_held else (1, 0))
    assert (read.treated_gmv_fen + read.holdout_gmv_fen) == 12_300
    assert _testid(page, "treated") == str(read.treated)
    assert _testid(page, "holdout") == str(read.holdout)
    assert _testid(page, "uplift") == f"{read.uplift * 100:+.2f} pp"
    assert _testid(page, "incremental-gmv") == format_yuan(read.incremental_gmv_fen)
    data = json.loads(re.search(r'id="campaign-results-data">(.*?)</script>', page,
                                re.S).group(1))  # type: ignore[union-attr]
    assert (data["uplift_low"], data["uplift_high"]) == (read.uplift_low, read.uplift_high)
