"""Staff Moments (朋友圈) use cases: HQ creates a posting task (standard copy and images for
the staff of some stores, or all), each staff member marks their post done, and everyone in
charge sees who posted and the reach that stands for.

Who may do what: creating a task and the expiry sweep are HQ marketing work
(``policy.MANAGE``); the task list and a task's posts are read with ``policy.READ``, a store
manager (or store key) seeing only the posts of their store's staff; marking a post posted is
store work (``customers.write``): staff mark their own only, a store manager any post of the
store's staff, HQ any post.

Marking is idempotent: the post moves from pending to posted in one atomic statement, so
marking twice (or two people at once) counts the post, and its friends, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.models import User
from yutang.access.roles import ActorKind, Permission, Principal, Role
from yutang.campaigns import content as content_service
from yutang.campaigns import moments_reach, policy
from yutang.campaigns.models import ContentCategory
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
from yutang.campaigns.moments_schemas import (
    MomentPostRead,
    MomentTaskDetail,
    MomentTaskIn,
    MomentTaskRead,
    MyMomentRead,
)
from yutang.kit.clock import ensure_utc, format_local, utcnow
from yutang.kit.sql import in_list
from yutang.org import service as org_service
from yutang.org.models import Store

POST = Permission.CUSTOMERS_WRITE
"""Marking a post: the permission of store staff's daily work (as for follow-ups)."""
MOMENT_CATEGORIES = (ContentCategory.VALUE_CONTENT.value, ContentCategory.PROMOTION.value,
                     ContentCategory.PARTNER_OFFER.value)
"""Library categories written for everyone to read (welcome and follow-up scripts speak to
one customer)."""
STAFF_VARIABLES = ("store", "city", "date")
"""Variables a Moments copy may use: filled with the posting staff member's store and the
day. A customer's (``{name}``, ``{coupon}``…) has no value in a post every friend reads."""
POSTABLE_ATTACHMENTS = ("image", "link")
MAX_ATTACHMENTS = 9
"""A Moments post carries at most nine images."""

_PENDING, _POSTED, _EXPIRED = (MomentPostStatus.PENDING.value, MomentPostStatus.POSTED.value,
                               MomentPostStatus.EXPIRED.value)


# --- creating a task -------------------------------------------------------------------------


def _copy(session: Session, data: MomentTaskIn) -> tuple[str, int | None, int | None,
                                                          list[dict[str, Any]]]:
    """The frozen copy, its template and version, and the attachments."""
    if (data.body is None) == (data.content_id is None):
        raise InvalidMomentTask("give either the copy or a library template", field="body")
    content_id = version = None
    attachments: list[dict[str, Any]] = []
    if data.content_id is not None:
        content = content_service.require_approved(session, content_id=data.content_id)
        if content.category not in MOMENT_CATEGORIES:
            raise MomentCopyUnsuitable(
                f"{content.category} content is not for Moments", category=content.category,
                allowed=list(MOMENT_CATEGORIES))
        body, content_id, version = content.body, content.id, content.version
        attachments = [dict(item) for item in content.attachments]
    else:
        body = (data.body or "").strip()
        if not body:
            raise InvalidMomentTask("the copy is empty", field="body")
    personal = [name for name in content_service.variables_of(body)
                if name not in STAFF_VARIABLES]
    if personal:
        raise MomentCopyUnsuitable("a customer's variable in a Moments copy",
                                   variables=personal, allowed=list(STAFF_VARIABLES))
    attachments += content_service.stored_attachments(data.attachments)
    if any(item["kind"] not in POSTABLE_ATTACHMENTS for item in attachments):
        raise MomentCopyUnsuitable("only images and links can be posted to Moments",
                                   allowed=list(POSTABLE_ATTACHMENTS))
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidMomentTask(f"at most {MAX_ATTACHMENTS} attachments", field="attachments")
    return body, content_id, version, attachments


def _store_ids(session: Session, data: MomentTaskIn) -> list[int] | None:
    """The chosen stores (``None``: all)."""
    if data.all_stores:
        if data.store_ids:
            raise InvalidMomentTask("choose stores or all stores, not both", field="store_ids")
        return None
    if not data.store_ids:
        raise InvalidMomentTask("choose the stores whose staff must post", field="store_ids")
    chosen = sorted(set(data.store_ids))
    known = set(session.scalars(select(Store.id).where(in_list(Store.id, chosen))))
    missing = [store_id for store_id in chosen if store_id not in known]
    if missing:
        raise InvalidMomentTask("no such store", field="store_ids", missing=missing)
    return chosen


def _staff(session: Session, store_ids: list[int] | None) -> list[tuple[int, int]]:
    """(user id, store id) of every active staff member (导购) of the stores."""
    statement = select(User.id, User.store_id).where(
        User.is_active.is_(True), User.role == Role.STAFF.value, User.store_id.is_not(None))
    if store_ids is not None:
        statement = statement.where(in_list(User.store_id, store_ids))
    return [(int(user_id), int(store_id or 0))
            for user_id, store_id in session.execute(statement.order_by(User.id))]


def create_task(session: Session, *, actor: Principal, data: MomentTaskIn,
                now: datetime | None = None) -> MomentTask:
    """The task and one pending post per staff member of its stores, with their friend
    counts (the potential reach) as of now."""
    access_service.require(actor, policy.MANAGE)
    moment = now or utcnow()
    due_at = ensure_utc(data.due_at)
    if due_at <= moment:
        raise MomentDueInPast("the due time is not in the future", due_at=due_at.isoformat())
    body, content_id, version, attachments = _copy(session, data)
    store_ids = _store_ids(session, data)
    staff = _staff(session, store_ids)
    if not staff:
        raise MomentNoStaff("no active staff member in the chosen stores")
    friends = moments_reach.friend_counts(session, staff_user_ids=[user for user, _ in staff])
    task = MomentTask(title=data.title.strip(), body=body, content_id=content_id,
                      content_version=version, attachments=attachments,
                      all_stores=store_ids is None, store_ids=store_ids or [], due_at=due_at,
                      created_by=actor.name, created_at=moment)
    session.add(task)
    session.flush()
    session.execute(insert(MomentPost), [
        {"task_id": task.id, "staff_user_id": user_id, "store_id": store_id,
         "status": _PENDING, "friend_count": friends[user_id], "created_at": moment}
        for user_id, store_id in staff])
    access_service.record_audit(session, actor=actor, action="moment_task.create",
                                entity_type="moment_task", entity_id=task.id,
                                details={"staff": len(staff), "content_id": content_id})
    return task


# --- reading tasks ---------------------------------------------------------------------------


def _scope(actor: Principal) -> list[Any]:
    """The posts the viewer may see: their store's staff's (store roles), all (HQ)."""
    return [MomentPost.store_id == actor.store_id] if actor.is_store_scoped else []


def _overdue(moment: datetime) -> Any:
    return (MomentPost.status == _EXPIRED) | (
        (MomentPost.status == _PENDING) & (MomentTask.due_at <= moment))


@dataclass(frozen=True)
class _Figures:
    assigned: int
    posted: int
    expired: int
    reach: int
    potential_reach: int


def _figures(session: Session, *, actor: Principal, task_ids: Sequence[int],
             moment: datetime) -> dict[int, _Figures]:
    """Per task, over the posts the viewer may see: one grouped statement."""
    if not task_ids:
        return {}
    posted = MomentPost.status == _POSTED
    rows = session.execute(
        select(MomentPost.task_id, func.count(), func.sum(case((posted, 1), else_=0)),
               func.sum(case((_overdue(moment), 1), else_=0)),
               func.sum(case((posted, MomentPost.friend_count), else_=0)),
               func.sum(MomentPost.friend_count))
        .join(MomentTask, MomentTask.id == MomentPost.task_id)
        .where(in_list(MomentPost.task_id, task_ids), *_scope(actor))
        .group_by(MomentPost.task_id))
    return {int(task_id): _Figures(int(assigned), int(done or 0), int(expired or 0),
                                   int(reach or 0), int(potential or 0))
            for task_id, assigned, done, expired, reach, potential in rows}


def _present(task: MomentTask, figures: _Figures, moment: datetime) -> MomentTaskRead:
    return MomentTaskRead(
        id=task.id, title=task.title, body=task.body, content_id=task.content_id,
        content_version=task.content_version, attachments=list(task.attachments),
        all_stores=task.all_stores, store_ids=list(task.store_ids), due_at=task.due_at,
        is_due=ensure_utc(task.due_at) <= moment, created_by=task.created_by,
        created_at=task.created_at, assigned=figures.assigned, posted=figures.posted,
        pending=figures.assigned - figures.posted - figures.expired,
        expired=figures.expired, reach=figures.reach,
        potential_reach=figures.potential_reach,
        completion_rate=figures.posted / figures.assigned if figures.assigned else None)


def list_tasks(session: Session, *, actor: Principal, limit: int = 100,
               now: datetime | None = None) -> list[MomentTaskRead]:
    """The latest tasks (by due time) with their figures; a store's viewer sees the tasks
    of their store's staff, counted over them."""
    access_service.require(actor, policy.READ)
    moment = now or utcnow()
    statement = select(MomentTask).order_by(MomentTask.due_at.desc(), MomentTask.id.desc())
    if actor.is_store_scoped:
        statement = statement.where(MomentTask.id.in_(
            select(MomentPost.task_id).where(*_scope(actor))))
    tasks = session.scalars(statement.limit(limit)).all()
    figures = _figures(session, actor=actor, task_ids=[task.id for task in tasks],
                       moment=moment)
    return [_present(task, figures[task.id], moment) for task in tasks if task.id in figures]


def _effective(status: str, due_at: datetime, moment: datetime) -> str:
    return _EXPIRED if status == _PENDING and ensure_utc(due_at) <= moment else status


def get_task(session: Session, *, actor: Principal, task_id: int,
             now: datetime | None = None) -> MomentTaskDetail:
    """A task with every post the viewer may see: who posted, who did not, their friends."""
    access_service.require(actor, policy.READ)
    moment = now or utcnow()
    task = session.get(MomentTask, task_id)
    figures = _figures(session, actor=actor, task_ids=[task_id], moment=moment) if task else {}
    if task is None or task_id not in figures:
        raise MomentTaskNotFound(f"no Moments task {task_id}", task_id=task_id)
    rows = session.execute(
        select(MomentPost, User.username, User.display_name, Store.code)
        .join(User, User.id == MomentPost.staff_user_id)
        .join(Store, Store.id == MomentPost.store_id)
        .where(MomentPost.task_id == task_id, *_scope(actor))
        .order_by(Store.code, User.username)).all()
    posts = [MomentPostRead(
        task_id=task_id, staff_user_id=post.staff_user_id, username=username,
        display_name=display_name, store_id=post.store_id, store_code=store_code,
        status=_effective(post.status, task.due_at, moment), friend_count=post.friend_count,
        posted_at=post.posted_at, marked_by=post.marked_by)
        for post, username, display_name, store_code in rows]
    return MomentTaskDetail(task=_present(task, figures[task_id], moment), posts=posts)


def my_posts(session: Session, *, actor: Principal, status: MomentPostStatus | None = None,
             limit: int = 50, now: datetime | None = None) -> list[MyMomentRead]:
    """The acting staff member's own posts (pending ones by default, the earliest due
    first), each with the copy filled for their store. An API key has none."""
    access_service.require(actor, POST)
    if actor.kind is not ActorKind.USER:
        return []
    moment = now or utcnow()
    chosen = status or MomentPostStatus.PENDING
    statement = select(MomentPost, MomentTask).join(
        MomentTask, MomentTask.id == MomentPost.task_id).where(
        MomentPost.staff_user_id == actor.id)
    if chosen is MomentPostStatus.PENDING:
        statement = statement.where(MomentPost.status == _PENDING, MomentTask.due_at > moment)
        statement = statement.order_by(MomentTask.due_at, MomentTask.id)
    elif chosen is MomentPostStatus.POSTED:
        statement = statement.where(MomentPost.status == _POSTED).order_by(
            MomentPost.posted_at.desc(), MomentTask.id.desc())
    else:
        statement = statement.where(_overdue(moment)).order_by(
            MomentTask.due_at.desc(), MomentTask.id.desc())
    rows = session.execute(statement.limit(limit)).all()
    stores = {store_id: org_service.get_store(session, store_id=store_id)
              for store_id in {post.store_id for post, _ in rows}}
    today = format_local(moment, with_time=False)
    return [MyMomentRead(
        task_id=task.id, title=task.title,
        text=content_service.render(task.body, {
            "store": stores[post.store_id].name, "city": stores[post.store_id].city,
            "date": today}),
        attachments=list(task.attachments), due_at=task.due_at,
        status=_effective(post.status, task.due_at, moment), friend_count=post.friend_count,
        posted_at=post.posted_at) for post, task in rows]


# --- marking a post --------------------------------------------------------------------------


def _staff_id(session: Session, actor: Principal, staff_username: str | None) -> int:
    """Whose post the actor marks: staff only their own."""
    own = staff_username is None or (actor.kind is ActorKind.USER
                                     and staff_username.strip() == actor.name)
    if actor.role is Role.STAFF:
        if actor.kind is not ActorKind.USER or not own:
            raise MomentPostNotYours("staff mark their own posts only")
        return int(actor.id or 0)
    if own:
        if actor.kind is not ActorKind.USER:
            raise MomentStaffRequired("name the staff member whose post it is",
                                      field="staff_username")
        return int(actor.id or 0)
    staff_id = session.scalar(select(User.id).where(User.username == (staff_username or "")
                                                    .strip()))
    if staff_id is None:
        raise MomentPostNotFound(f"no post of {staff_username!r}", username=staff_username)
    return int(staff_id)


def mark_posted(session: Session, *, actor: Principal, task_id: int,
                staff_username: str | None = None, now: datetime | None = None) -> MomentPost:
    """The staff member posted the task's copy: the post becomes posted with the time, who
    marked it and the staff member's friend count now. Marking a posted post again changes
    nothing and returns it (idempotent); a post past the due time cannot be marked."""
    access_service.require(actor, POST)
    moment = now or utcnow()
    staff_id = _staff_id(session, actor, staff_username)
    post = session.scalars(select(MomentPost).where(
        MomentPost.task_id == task_id, MomentPost.staff_user_id == staff_id)).one_or_none()
    own_post = actor.kind is ActorKind.USER and staff_id == actor.id
    foreign = (post is not None and not own_post and actor.is_store_scoped
               and post.store_id != actor.store_id)
    if post is None or foreign:
        raise MomentPostNotFound(f"no post of that staff member on task {task_id}",
                                 task_id=task_id)
    if post.status == _POSTED:
        return post
    task = session.get_one(MomentTask, task_id)
    if post.status == _EXPIRED or ensure_utc(task.due_at) <= moment:
        raise MomentTaskExpired(f"task {task_id} was due {task.due_at.isoformat()}",
                                task_id=task_id)
    friends = moments_reach.friend_counts(session, staff_user_ids=[staff_id])[staff_id]
    changed = session.execute(  # type: ignore[attr-defined]
        update(MomentPost)
        .where(MomentPost.id == post.id, MomentPost.status == _PENDING)
        .values(status=_POSTED, posted_at=moment, marked_by=actor.name, friend_count=friends)
    ).rowcount
    session.refresh(post)
    if changed == 1:
        access_service.record_audit(session, actor=actor, action="moment_post.posted",
                                    entity_type="moment_task", entity_id=task_id,
                                    store_id=post.store_id,
                                    details={"staff_user_id": staff_id, "friends": friends})
    elif post.status != _POSTED:  # the sweep expired it in between
        raise MomentTaskExpired(f"task {task_id} has expired", task_id=task_id)
    return post


# --- the expiry sweep ------------------------------------------------------------------------


def expire_overdue(session: Session, *, actor: Principal, now: datetime | None = None) -> int:
    """Posts still pending at their task's due time become expired (one statement;
    idempotent). Reads show them expired already; the sweep makes it so in the table."""
    access_service.require(actor, policy.MANAGE)
    moment = now or utcnow()
    expired = session.execute(  # type: ignore[attr-defined]
        update(MomentPost)
        .where(MomentPost.status == _PENDING, MomentPost.task_id.in_(
            select(MomentTask.id).where(MomentTask.due_at <= moment)))
        .values(status=_EXPIRED)
    ).rowcount
    if expired:
        access_service.record_audit(session, actor=actor, action="moment_post.expire",
                                    entity_type="moment_task", details={"posts": expired})
    return int(expired)
