"""The demo merchant's staff Moments (朋友圈), with a known reach.

Friends first: the demo's WeCom channel codes are one per staff member (customers add that
person), so the customers who came in through a store's WeCom channel are split between the
store's staff (by customer id, one ``UPDATE`` per store) as the staff member who brought them
in — the demo has no WeCom connection, so these are the staff's friends.

Then three posting tasks created by the real service: two that closed before the observation
end — a promotion template for every store and a free-text copy for the first half of the
stores — each posted by a drawn share of its staff (the rest expire through the real sweep),
and one for every store created a day ago and due two days from now, posted by a few so
far, that the other staff still have to post on their phone page. Posts are marked in one
bulk statement per task (the friends did not change since the task was created, so its
counts stand).

``planted_truth.moments`` holds, per task, the staff who posted and the reach and potential
reach summed from the planted friends; the Moments figures must equal them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from yutang.access.models import User
from yutang.access.roles import Principal, Role
from yutang.campaigns import content as content_service
from yutang.campaigns import moments
from yutang.campaigns.models import ContentCategory
from yutang.campaigns.moments_models import MomentPost, MomentPostStatus
from yutang.campaigns.moments_schemas import MomentTaskIn
from yutang.campaigns.schemas import Attachment, ContentIn
from yutang.kit.clock import utcnow
from yutang.pool.models import Channel, ChannelKind, Customer

TRUTH = "moments"
POSTER_URL = "https://img.example.com/demo/strawberry-season.jpg"


@dataclass(frozen=True)
class _Plan:
    key: str
    title: str
    created_before: timedelta
    """Before the observation end; for an open task, before now."""
    open_for: timedelta
    posting_rate: float
    is_open: bool = False
    half_of_the_stores: bool = False


PLANS = (
    _Plan("strawberry_season", "周末草莓季（演示）", timedelta(days=6), timedelta(days=2), 0.7),
    _Plan("members_day", "会员日预告（演示）", timedelta(days=3), timedelta(days=1), 0.4,
          half_of_the_stores=True),
    _Plan("this_week", "本周新品（演示）", timedelta(days=1), timedelta(days=3), 0.3,
          is_open=True),
)


@dataclass
class MomentsPlanted:
    friends: dict[int, int] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_truth(self) -> dict[str, Any]:
        return {"staff": len(self.friends), "friends": sum(self.friends.values()),
                "tasks": self.tasks,
                "note": "friends = live customers each staff member brought in through the "
                        "store's WeCom channel; reach = friends of the staff who posted"}


def plant_moments(session: Session, *, actor: Principal, seed: int,
                  end: datetime) -> MomentsPlanted:
    rng = np.random.default_rng([seed, 8_015])
    staff_by_store = _staff_by_store(session)
    planted = MomentsPlanted(friends=_staff_friends(session, staff_by_store))
    stores = sorted(staff_by_store)
    usernames = dict(session.execute(select(User.id, User.username)).all())
    template = content_service.create_content(session, actor=actor, data=ContentIn(
        name="草莓季朋友圈", category=ContentCategory.PROMOTION,
        body="{store}草莓季开始了！当季丹东草莓到店，本周末会员第二盒半价。",
        attachments=[Attachment(kind="image", url=POSTER_URL, title="草莓季海报")]))
    content_service.approve_content(session, actor=actor, content_id=template.id)
    if not stores:
        return planted
    for plan in PLANS:
        base = max(end, utcnow()) if plan.is_open else end
        created = base - plan.created_before
        window = min(plan.open_for, base - created).total_seconds()
        chosen = stores[:max(1, len(stores) // 2)] if plan.half_of_the_stores else []
        task = moments.create_task(session, actor=actor, now=created, data=MomentTaskIn(
            title=plan.title, due_at=created + plan.open_for, all_stores=not chosen,
            store_ids=chosen,
            content_id=None if plan.half_of_the_stores else template.id,
            body="{city}的朋友们，明天会员日，全场水果满99减20，记得来{store}哦。"
            if plan.half_of_the_stores else None))
        assigned = sorted(session.scalars(select(MomentPost.staff_user_id).where(
            MomentPost.task_id == task.id)))
        posted = [staff_id for staff_id in assigned if rng.random() < plan.posting_rate]
        delays = rng.integers(600, int(window * 0.8), size=len(posted))
        if posted:
            ids = dict(session.execute(select(MomentPost.staff_user_id, MomentPost.id).where(
                MomentPost.task_id == task.id)).all())
            session.execute(update(MomentPost), [
                {"id": ids[staff_id], "status": MomentPostStatus.POSTED.value,
                 "posted_at": created + timedelta(seconds=int(delay)),
                 "marked_by": usernames[staff_id]}
                for staff_id, delay in zip(posted, delays, strict=True)])
        planted.tasks[plan.key] = {
            "task_id": task.id, "title": plan.title, "posting_rate": plan.posting_rate,
            "due_at": task.due_at.isoformat(), "assigned": len(assigned),
            "posted": len(posted), "posted_staff": posted,
            "reach": sum(planted.friends.get(staff_id, 0) for staff_id in posted),
            "potential_reach": sum(planted.friends.get(staff_id, 0) for staff_id in assigned)}
    moments.expire_overdue(session, actor=actor, now=end)
    return planted


def _staff_by_store(session: Session) -> dict[int, list[int]]:
    """store id → its active staff members (导购), by id."""
    staff_by_store: dict[int, list[int]] = {}
    for user_id, store_id in session.execute(select(User.id, User.store_id).where(
            User.role == Role.STAFF.value, User.is_active.is_(True),
            User.store_id.is_not(None)).order_by(User.id)):
        staff_by_store.setdefault(int(store_id or 0), []).append(int(user_id))
    return staff_by_store


def _staff_friends(session: Session, staff_by_store: dict[int, list[int]]) -> dict[int, int]:
    """Split each store's WeCom-channel customers between its staff; staff id → the live
    customers they now brought in."""
    channels = session.execute(select(Channel.id, Channel.store_id).where(
        Channel.kind == ChannelKind.WECOM.value, Channel.store_id.is_not(None))
        .order_by(Channel.id)).all()
    for channel_id, store_id in channels:
        staff = staff_by_store.get(int(store_id or 0))
        if not staff:
            continue
        whose = case(*((Customer.id % len(staff) == index, user_id)
                       for index, user_id in enumerate(staff)))
        session.execute(update(Customer).where(
            Customer.acquisition_channel_id == channel_id,
            Customer.acquisition_staff_id.is_(None))
            .values(acquisition_staff_id=whose, updated_at=Customer.updated_at)
            .execution_options(synchronize_session=False))
    friends = {user_id: 0 for staff in staff_by_store.values() for user_id in staff}
    friends.update({int(staff_id or 0): int(count) for staff_id, count in session.execute(
        select(Customer.acquisition_staff_id, func.count()).where(
            Customer.acquisition_staff_id.is_not(None), Customer.merged_into_id.is_(None))
        .group_by(Customer.acquisition_staff_id))})
    return friends
