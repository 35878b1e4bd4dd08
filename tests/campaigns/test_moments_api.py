"""Staff Moments over the public API (both backends): paths, fields and error codes; marking
twice answers the same post and counts its friends once; a store's key sees its own staff."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.campaigns.moments_support import brought_in, moments_content, wecom_contacts
from tests.campaigns.support import new_store
from tests.support.factories import make_api_key, make_user
from yutang.access.roles import Role
from yutang.campaigns.moments_models import MomentPost, MomentTask
from yutang.kit.clock import utcnow


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_moment_tasks_over_the_api(client: TestClient, db: Session) -> None:
    shop, other, empty = new_store(db), new_store(db), new_store(db)
    first = make_user(db, "ma_first", Role.STAFF, shop)
    third = make_user(db, "ma_third", Role.STAFF, other)
    wecom_contacts(db, first, active=1_000)
    brought_in(db, third, other, 4)
    template = moments_content(db)
    draft = moments_content(db, approve=False)
    hq = _bearer(make_api_key(db, Role.HQ_OPERATOR))
    manager = _bearer(make_api_key(db, Role.STORE_MANAGER, shop))
    staff = _bearer(make_api_key(db, Role.STAFF, shop))
    analyst = _bearer(make_api_key(db, Role.ANALYST))
    db.commit()
    due = (utcnow() + timedelta(days=1)).isoformat()

    def refused(body: dict[str, object], status: int, code: str) -> None:
        answer = client.post("/api/v1/moment-tasks", headers=hq, json=body)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == code

    base = {"title": "周末新品", "all_stores": True, "due_at": due}
    refused(base | {"content_id": draft.id}, 409, "content_not_approved")
    refused(base | {"body": "{name}您好"}, 422, "moment_copy_unsuitable")
    refused(base | {"body": "x", "due_at": (utcnow() - timedelta(minutes=1)).isoformat()},
            422, "moment_due_in_past")
    refused(base | {"body": "x", "all_stores": False, "store_ids": [empty.id]}, 409,
            "moment_no_staff")
    refused(base | {"body": "x", "content_id": template.id}, 422, "invalid_moment_task")
    assert client.post("/api/v1/moment-tasks", headers=manager,
                       json=base | {"body": "x"}).status_code == 403
    assert db.scalar(select(func.count()).select_from(MomentTask)) == 0

    created = client.post("/api/v1/moment-tasks", headers=hq,
                          json=base | {"content_id": template.id})
    assert created.status_code == 201, created.text
    task = created.json()
    assert {key: task[key] for key in ("body", "content_id", "assigned", "posted", "pending",
                                       "expired", "reach", "potential_reach", "is_due")} == {
        "body": "{store}本周新品上市，到店尝鲜", "content_id": template.id, "assigned": 2,
        "posted": 0, "pending": 2, "expired": 0, "reach": 0, "potential_reach": 1_004,
        "is_due": False}
    assert task["attachments"] == [{"kind": "image", "url": "https://img.example.com/new-fruit.jpg",
                                    "title": "新品海报"}]
    path = f"/api/v1/moment-tasks/{task['id']}"

    # A staff key is nobody's login; an HQ key must name the staff member.
    not_yours = client.post(f"{path}/posted", headers=staff, json={})
    assert (not_yours.status_code, not_yours.json()["error"]["code"]) == (
        403, "moment_post_not_yours")
    unnamed = client.post(f"{path}/posted", headers=hq, json={})
    assert (unnamed.status_code, unnamed.json()["error"]["code"]) == (
        422, "moment_staff_required")
    elsewhere = client.post(f"{path}/posted", headers=manager,
                            json={"staff_username": "ma_third"})
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (
        404, "moment_post_not_found")
    assert client.post(f"{path}/posted", headers=analyst,
                       json={"staff_username": "ma_first"}).status_code == 403
    missing = client.post("/api/v1/moment-tasks/999999/posted", headers=hq,
                          json={"staff_username": "ma_first"})
    assert missing.json()["error"]["code"] == "moment_post_not_found"

    marked = client.post(f"{path}/posted", headers=manager, json={"staff_username": "ma_first"})
    assert marked.status_code == 200, marked.text
    again = client.post(f"{path}/posted", headers=manager, json={"staff_username": "ma_first"})
    assert again.json() == marked.json()
    assert {key: marked.json()[key] for key in ("staff_user_id", "status", "friend_count")} == {
        "staff_user_id": first.id, "status": "posted", "friend_count": 1_000}
    assert db.scalar(select(func.count()).select_from(MomentPost).where(
        MomentPost.status == "posted")) == 1

    listed = client.get("/api/v1/moment-tasks", headers=hq).json()
    assert [(item["id"], item["assigned"], item["posted"], item["reach"],
             item["potential_reach"]) for item in listed] == [(task["id"], 2, 1, 1_000, 1_004)]
    store_view = client.get("/api/v1/moment-tasks", headers=manager).json()
    assert [(item["assigned"], item["posted"], item["reach"], item["potential_reach"],
             item["completion_rate"]) for item in store_view] == [(1, 1, 1_000, 1_000, 1.0)]
    detail = client.get(path, headers=hq).json()
    assert [(post["username"], post["status"], post["friend_count"], post["marked_by"])
            for post in detail["posts"]] == [("ma_first", "posted", 1_000, "store_manager key"),
                                             ("ma_third", "pending", 4, None)]
    assert [post["username"] for post in client.get(path, headers=manager).json()["posts"]] == [
        "ma_first"]
    gone = client.get("/api/v1/moment-tasks/999999", headers=hq)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "moment_task_not_found")
