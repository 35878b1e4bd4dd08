"""Staff Moments in the console through a TestClient (both backends): HQ creates a task from
an approved template through the form and reads its figures; a bad form answers a translated
message and creates nothing; a manager marks a post for a staff member; a staff member sees
their own post with the copy of their store and marks it; every page's figures are the
service's."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.campaigns.moments_support import brought_in, moments_content, wecom_contacts
from tests.campaigns.support import new_store
from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import SYSTEM, make_user
from yutang.access.roles import Role
from yutang.campaigns import moments
from yutang.campaigns.moments_models import MomentPost, MomentTask
from yutang.kit.clock import to_local, utcnow


def _testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert match is not None, name
    return match.group(1).strip()


def test_moments_pages_for_hq_managers_and_staff(client: TestClient, db: Session) -> None:
    shop, other = new_store(db), new_store(db)
    poster = make_user(db, "mc_poster", Role.STAFF, shop)
    helper = make_user(db, "mc_helper", Role.STAFF, shop)
    make_user(db, "mc_elsewhere", Role.STAFF, other)
    make_user(db, "mc_manager", Role.STORE_MANAGER, shop)
    make_user(db, "mc_hq", Role.HQ_OPERATOR)
    wecom_contacts(db, poster, active=1_200)
    brought_in(db, helper, shop, 2)
    template = moments_content(db, body="{store}的冬季新品到了，欢迎到店试吃")
    unsuitable = moments_content(db, category="welcome", body="欢迎")
    db.commit()
    due = to_local(utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    logged_in(client, "mc_hq")
    page = client.get("/console/campaigns/moments")
    assert page.status_code == 200
    templates = re.findall(r'<option value="(\d+)">', re.search(
        r'<select name="content_id">(.*?)</select>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert templates == [str(template.id)]  # not the welcome script: it speaks to one customer
    assert unsuitable.id != template.id
    token = page_csrf_token(client, "/console/campaigns/moments")
    past = client.post("/console/campaigns/moments", data={
        "csrf_token": token, "title": "过期了", "source": "text", "body": "新品",
        "store_ids": [str(shop.id)],
        "due_at": to_local(utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")})
    assert past.status_code == 422
    assert "截止时间必须晚于现在。" in past.text
    assert db.scalar(select(func.count()).select_from(MomentTask)) == 0

    created = client.post("/console/campaigns/moments", follow_redirects=False, data={
        "csrf_token": token, "title": "冬季新品", "source": "template",
        "content_id": str(template.id), "image_urls": "https://img.example.com/1.jpg\n\n",
        "link_url": "https://shop.example.com/winter", "link_title": "新品页",
        "store_ids": [str(shop.id)], "due_at": due})
    assert created.status_code == 303, created.text
    task = db.scalars(select(MomentTask)).one()
    assert created.headers["location"] == f"/console/campaigns/moments/{task.id}"
    assert [item["kind"] for item in task.attachments] == ["image", "image", "link"]
    detail = client.get(f"/console/campaigns/moments/{task.id}")
    assert _testid(detail.text, "task-posted") == "0 / 2"
    assert _testid(detail.text, "task-potential-reach") == "1,202"
    assert _testid(detail.text, "task-body") == "{store}的冬季新品到了，欢迎到店试吃"
    listing = client.get("/console/campaigns/moments")
    assert _testid(listing.text, "posted") == "0 / 2"
    assert _testid(listing.text, "reach") == "0"
    client.post("/console/logout", data={"csrf_token": page_csrf_token(client)})

    logged_in(client, "mc_manager")
    token = page_csrf_token(client, f"/console/campaigns/moments/{task.id}")
    marked = client.post(f"/console/campaigns/moments/{task.id}/posted", follow_redirects=False,
                         data={"csrf_token": token, "staff_username": "mc_helper"})
    assert marked.status_code == 303
    client.post("/console/logout", data={"csrf_token": page_csrf_token(client)})

    logged_in(client, "mc_poster")
    mine = client.get("/console/moments")
    assert _testid(mine.text, "moment-text") == f"{shop.name}的冬季新品到了，欢迎到店试吃"
    assert 'data-testid="moment-count" data-count="1"' in mine.text
    assert client.get("/console/campaigns/moments").status_code == 403  # staff: own posts only
    token = page_csrf_token(client, "/console/moments")
    client.post(f"/console/moments/{task.id}/posted", data={"csrf_token": token})
    client.post(f"/console/moments/{task.id}/posted", data={"csrf_token": token})  # again
    posted = client.get("/console/moments?status=posted")
    assert "1,200 位好友可见" in _testid(posted.text, "moment-status")
    assert 'data-count="0"' in client.get("/console/moments").text

    statuses = dict(db.execute(select(MomentPost.staff_user_id, MomentPost.marked_by)).all())
    assert statuses == {poster.id: "mc_poster", helper.id: "mc_manager"}
    figures = moments.list_tasks(db, actor=SYSTEM)[0]
    assert (figures.assigned, figures.posted, figures.reach, figures.potential_reach) == (
        2, 2, 1_202, 1_202)
