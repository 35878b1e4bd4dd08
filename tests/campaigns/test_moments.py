"""Staff Moments (朋友圈), both backends: a task assigns exactly the active staff of its stores
with their friends (active WeCom contacts where WeCom reported, else the customers they
brought in); staff mark their own posts only, a manager those of the store's staff, HQ any;
marking twice counts once; the reach sums the friends of those who posted, the potential
reach every assigned staff member's; a store's viewer sees its own staff only; after the due
time nothing can be marked and the sweep expires the rest once. Bad tasks are refused with
their code and leave nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.campaigns.moments_support import brought_in, moments_content, wecom_contacts
from tests.campaigns.support import new_store
from tests.support.factories import SYSTEM, make_user
from yutang.access.errors import RoleNotAllowed
from yutang.access.models import AuditEntry
from yutang.access.roles import Principal, Role
from yutang.access.service import principal_for_user
from yutang.campaigns import content as content_service
from yutang.campaigns import moments
from yutang.campaigns.errors import ContentNotApproved, InvalidContent, UnknownTemplateVariable
from yutang.campaigns.moments_errors import (
    InvalidMomentTask,
    MomentCopyUnsuitable,
    MomentDueInPast,
    MomentNoStaff,
    MomentPostNotFound,
    MomentPostNotYours,
    MomentStaffRequired,
    MomentTaskExpired,
    MomentTaskNotFound,
)
from yutang.campaigns.moments_models import MomentPost, MomentPostStatus, MomentTask
from yutang.campaigns.moments_reach import friend_counts
from yutang.campaigns.moments_schemas import MomentTaskIn
from yutang.campaigns.schemas import ContentIn
from yutang.kit.clock import set_now_source
from yutang.pool.models import Customer

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
DUE = NOW + timedelta(days=2)


def _task(**fields: Any) -> MomentTaskIn:
    data: dict[str, Any] = {"title": "周末新品", "all_stores": True, "due_at": DUE}
    data.update(fields)
    return MomentTaskIn(**data)


def _figures(read: Any) -> tuple[int, int, int, int, int, int]:
    return (read.assigned, read.posted, read.pending, read.expired, read.reach,
            read.potential_reach)


def _posts(db: Session, task_id: int) -> dict[int, tuple[str, int, str | None]]:
    return {post.staff_user_id: (post.status, post.friend_count, post.marked_by)
            for post in db.scalars(select(MomentPost).where(MomentPost.task_id == task_id))}


def test_friends_are_active_wecom_contacts_else_the_customers_brought_in(db: Session) -> None:
    shop = new_store(db)
    on_wecom = make_user(db, "mf_wecom", Role.STAFF, shop)
    offline = make_user(db, "mf_offline", Role.STAFF, shop)
    lonely = make_user(db, "mf_lonely", Role.STAFF, shop)
    wecom_contacts(db, on_wecom, active=3, half=1, lost=1)
    brought_in(db, on_wecom, shop, 2)  # WeCom reported on them: its contacts count
    merged, survivor, *_ = brought_in(db, offline, shop, 4)
    db.get_one(Customer, merged).merged_into_id = survivor
    db.flush()
    assert friend_counts(db, staff_user_ids=[on_wecom.id, offline.id, lonely.id]) == {
        on_wecom.id: 3, offline.id: 3, lonely.id: 0}
    assert friend_counts(db, staff_user_ids=[]) == {}


def test_staff_post_their_own_managers_their_store_and_the_reach_counts_once(
        db: Session) -> None:
    set_now_source(lambda: NOW)
    shop, other, managed_only = new_store(db), new_store(db), new_store(db)
    first = make_user(db, "mm_first", Role.STAFF, shop)
    second = make_user(db, "mm_second", Role.STAFF, shop)
    gone = make_user(db, "mm_gone", Role.STAFF, shop)
    gone.is_active = False
    third = make_user(db, "mm_third", Role.STAFF, other)
    manager = principal_for_user(make_user(db, "mm_manager", Role.STORE_MANAGER, shop))
    other_manager = principal_for_user(make_user(db, "mm_manager_b", Role.STORE_MANAGER, other))
    idle_manager = principal_for_user(make_user(db, "mm_manager_c", Role.STORE_MANAGER,
                                                managed_only))
    analyst = principal_for_user(make_user(db, "mm_analyst", Role.ANALYST))
    wecom_contacts(db, first, active=3, half=1, lost=1)
    brought_in(db, second, shop, 3)
    brought_in(db, third, other, 5)
    template = moments_content(db)

    created = moments.create_task(db, actor=SYSTEM, now=NOW, data=_task(
        content_id=template.id, attachments=[
            {"kind": "link", "url": "https://shop.example.com/new", "title": "新品页"}]))
    assert (created.body, created.content_version, created.all_stores) == (
        "{store}本周新品上市，到店尝鲜", 1, True)
    assert [item["kind"] for item in created.attachments] == ["image", "link"]
    # Exactly the active staff: not the one who left, not managers, not other roles.
    assert _posts(db, created.id) == {first.id: ("pending", 3, None),
                                      second.id: ("pending", 3, None),
                                      third.id: ("pending", 5, None)}
    # The copy is frozen: editing the template later changes nothing of the task.
    content_service.update_content(db, actor=SYSTEM, content_id=template.id, data=ContentIn(
        name="改过的文案", category="promotion", body="{store}全场八折"))
    assert db.get_one(MomentTask, created.id).body == "{store}本周新品上市，到店尝鲜"

    hq_view = moments.list_tasks(db, actor=SYSTEM, now=NOW)
    assert [_figures(read) for read in hq_view] == [(3, 0, 3, 0, 0, 11)]
    assert hq_view[0].completion_rate == 0.0

    me = principal_for_user(first)
    mine = moments.my_posts(db, actor=me, now=NOW)
    assert [(item.task_id, item.text, item.status) for item in mine] == [
        (created.id, f"{shop.name}本周新品上市，到店尝鲜", "pending")]
    assert [item["title"] for item in mine[0].attachments] == ["新品海报", "新品页"]

    # Staff mark their own posts only, whoever they name.
    with pytest.raises(MomentPostNotYours):
        moments.mark_posted(db, actor=principal_for_user(second), task_id=created.id,
                            staff_username="mm_first")
    with pytest.raises(MomentPostNotYours):
        moments.mark_posted(db, actor=principal_for_user(second), task_id=created.id,
                            staff_username="mm_third")
    with pytest.raises(RoleNotAllowed):
        moments.mark_posted(db, actor=analyst, task_id=created.id, staff_username="mm_first")
    with pytest.raises(MomentPostNotFound):  # another store's manager
        moments.mark_posted(db, actor=other_manager, task_id=created.id,
                            staff_username="mm_first")
    with pytest.raises(MomentPostNotFound):  # a manager has no post of their own
        moments.mark_posted(db, actor=manager, task_id=created.id)
    with pytest.raises(MomentStaffRequired):  # a key is nobody's login
        moments.mark_posted(db, actor=Principal.system("integrator"), task_id=created.id)
    assert _posts(db, created.id)[first.id] == ("pending", 3, None)

    # A new friend since the task was created: the post counts the friends when marked.
    wecom_contacts(db, first, active=1)
    posted = moments.mark_posted(db, actor=me, task_id=created.id, now=NOW + timedelta(hours=1))
    assert (posted.status, posted.friend_count, posted.marked_by) == ("posted", 4, "mm_first")
    again = moments.mark_posted(db, actor=me, task_id=created.id, now=NOW + timedelta(hours=5))
    assert again.posted_at == NOW + timedelta(hours=1)
    moments.mark_posted(db, actor=manager, task_id=created.id, staff_username="mm_second",
                        now=NOW + timedelta(hours=2))
    assert _posts(db, created.id) == {first.id: ("posted", 4, "mm_first"),
                                      second.id: ("posted", 3, "mm_manager"),
                                      third.id: ("pending", 5, None)}
    audits = db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "moment_post.posted",
        AuditEntry.entity_id == str(created.id)))
    assert audits == 2  # the second marking of the first post wrote nothing

    assert [_figures(read) for read in moments.list_tasks(db, actor=SYSTEM, now=NOW)] == [
        (3, 2, 1, 0, 7, 12)]
    # A store manager sees and counts the store's staff only; a store without staff on the
    # task sees no task at all.
    assert [_figures(read) for read in moments.list_tasks(db, actor=manager, now=NOW)] == [
        (2, 2, 0, 0, 7, 7)]
    theirs = moments.get_task(db, actor=other_manager, task_id=created.id, now=NOW)
    assert [(post.username, post.status, post.friend_count) for post in theirs.posts] == [
        ("mm_third", "pending", 5)]
    assert moments.list_tasks(db, actor=idle_manager, now=NOW) == []
    with pytest.raises(MomentTaskNotFound):
        moments.get_task(db, actor=idle_manager, task_id=created.id, now=NOW)
    with pytest.raises(RoleNotAllowed):
        moments.list_tasks(db, actor=me, now=NOW)
    detail = moments.get_task(db, actor=SYSTEM, task_id=created.id, now=NOW)
    assert [(post.username, post.store_code, post.status, post.friend_count, post.marked_by)
            for post in detail.posts] == [
        ("mm_first", shop.code, "posted", 4, "mm_first"),
        ("mm_second", shop.code, "posted", 3, "mm_manager"),
        ("mm_third", other.code, "pending", 5, None)]
    assert moments.my_posts(db, actor=me, now=NOW) == []
    assert [item.task_id for item in moments.my_posts(
        db, actor=me, status=MomentPostStatus.POSTED, now=NOW)] == [created.id]

    # Past the due time: the last post reads expired and can no longer be marked.
    late = DUE + timedelta(minutes=1)
    with pytest.raises(MomentTaskExpired):
        moments.mark_posted(db, actor=principal_for_user(third), task_id=created.id, now=late)
    assert [_figures(read) for read in moments.list_tasks(db, actor=SYSTEM, now=late)] == [
        (3, 2, 0, 1, 7, 12)]
    assert moments.my_posts(db, actor=principal_for_user(third), now=late) == []
    assert [item.status for item in moments.my_posts(
        db, actor=principal_for_user(third), status=MomentPostStatus.EXPIRED,
        now=late)] == ["expired"]
    assert moments.expire_overdue(db, actor=SYSTEM, now=NOW) == 0  # nothing due yet
    assert moments.expire_overdue(db, actor=SYSTEM, now=late) == 1
    assert moments.expire_overdue(db, actor=SYSTEM, now=late) == 0
    with pytest.raises(RoleNotAllowed):
        moments.expire_overdue(db, actor=manager, now=late)
    assert _posts(db, created.id)[third.id] == ("expired", 5, None)
    # Marking a posted post after the due time still answers it, unchanged.
    assert moments.mark_posted(db, actor=me, task_id=created.id, now=late).friend_count == 4


def test_a_task_of_chosen_stores_with_free_text_assigns_their_staff_only(db: Session) -> None:
    set_now_source(lambda: NOW)
    chosen, skipped = new_store(db), new_store(db)
    inside = make_user(db, "ms_inside", Role.STAFF, chosen)
    make_user(db, "ms_outside", Role.STAFF, skipped)
    task = moments.create_task(db, actor=SYSTEM, now=NOW, data=_task(
        all_stores=False, store_ids=[chosen.id, chosen.id], body="  {city}的朋友们，{date}见 ",
        attachments=[{"kind": "image", "url": "https://img.example.com/a.jpg"}]))
    assert (task.body, task.content_id, task.store_ids, task.all_stores) == (
        "{city}的朋友们，{date}见", None, [chosen.id], False)
    assert list(_posts(db, task.id)) == [inside.id]
    text = moments.my_posts(db, actor=principal_for_user(inside), now=NOW)[0].text
    assert text == "上海的朋友们，2026-12-07见"


@pytest.mark.parametrize(("fields", "error", "details"), [
    ({"body": "hello", "content_id": "template"}, InvalidMomentTask, {"field": "body"}),
    ({}, InvalidMomentTask, {"field": "body"}),
    ({"body": "   "}, InvalidMomentTask, {"field": "body"}),
    ({"content_id": "draft"}, ContentNotApproved, {}),
    ({"content_id": "follow_up"}, MomentCopyUnsuitable, {"category": "follow_up"}),
    ({"body": "{name}您好，{store}上新了"}, MomentCopyUnsuitable, {"variables": ["name"]}),
    ({"body": "{coupon}领券"}, MomentCopyUnsuitable, {"variables": ["coupon"]}),
    ({"body": "{vip}您好"}, UnknownTemplateVariable, {"variables": ["vip"]}),
    ({"body": "x", "attachments": [{"kind": "miniprogram", "appid": "wx1", "page": "p"}]},
     MomentCopyUnsuitable, {}),
    ({"body": "x", "attachments": [{"kind": "image", "url": "http://insecure.jpg"}]},
     InvalidContent, {}),
    ({"content_id": "template", "attachments": [
        {"kind": "image", "url": f"https://img.example.com/{number}.jpg"}
        for number in range(9)]}, InvalidMomentTask, {"field": "attachments"}),
    ({"body": "x", "due_at": NOW}, MomentDueInPast, {}),
    ({"body": "x", "all_stores": False}, InvalidMomentTask, {"field": "store_ids"}),
    ({"body": "x", "store_ids": ["shop"]}, InvalidMomentTask, {"field": "store_ids"}),
    ({"body": "x", "all_stores": False, "store_ids": [987_654]}, InvalidMomentTask,
     {"field": "store_ids", "missing": [987_654]}),
    ({"body": "x", "all_stores": False, "store_ids": ["managers_only"]}, MomentNoStaff, {}),
])
def test_bad_tasks_are_refused_with_their_code_and_leave_nothing(
        db: Session, fields: dict[str, Any], error: type[Exception],
        details: dict[str, Any]) -> None:
    set_now_source(lambda: NOW)
    shop, managers_only = new_store(db), new_store(db)
    make_user(db, "mb_staff", Role.STAFF, shop)
    make_user(db, "mb_manager", Role.STORE_MANAGER, managers_only)
    references = {"template": moments_content(db).id,
                  "draft": moments_content(db, approve=False).id,
                  "follow_up": moments_content(db, category="follow_up").id,
                  "shop": shop.id, "managers_only": managers_only.id}
    data = {key: references.get(value, value) if isinstance(value, str) and key == "content_id"
            else value for key, value in fields.items()}
    if "store_ids" in data:
        data["store_ids"] = [references.get(item, item) for item in data["store_ids"]]
    with pytest.raises(error) as raised:
        moments.create_task(db, actor=SYSTEM, now=NOW, data=_task(**data))
    for key, value in details.items():
        assert raised.value.details[key] == value  # type: ignore[attr-defined]
    assert db.scalar(select(func.count()).select_from(MomentTask)) == 0
    assert db.scalar(select(func.count()).select_from(MomentPost)) == 0


def test_only_hq_creates_tasks(db: Session) -> None:
    set_now_source(lambda: NOW)
    shop = new_store(db)
    make_user(db, "mh_poster", Role.STAFF, shop)
    for role in (Role.STORE_MANAGER, Role.STAFF, Role.ANALYST):
        actor = principal_for_user(make_user(db, f"mh_{role.value}", role,
                                             shop if role in (Role.STORE_MANAGER, Role.STAFF)
                                             else None))
        with pytest.raises(RoleNotAllowed):
            moments.create_task(db, actor=actor, now=NOW, data=_task(body="x"))
    assert db.scalar(select(func.count()).select_from(MomentTask)) == 0
