"""Operator load: how much staff work a week of campaigns and follow-ups took — the figure
that answers seed 003's question (20,000 customers need 2 people; do 2,000,000 need 100?).

For an ISO week (Asia/Shanghai), per staff member and in total: the mass-send tasks they had
to confirm in WeCom (distinct ``message_ref`` of their sent deliveries — the sender puts every
delivery with one message in one task), the customers and groups reached, the follow-ups
(回访) done, the Moments (朋友圈) posted, the estimated staff minutes (seconds per kind of
action, ``ActionSeconds``, set by the caller) and the customers reached per staff hour. Per
campaign: confirmations per 1,000 recipients, and whether the content's per-customer
variables force one task per recipient. For the week: touches that ran on their schedule
(the sender's) against touches by hand (follow-ups, Moments posts), staff tasks per staff
member per day, and staff tasks per 10,000 pool customers — the figure that must not grow
with the pool.

The week's sent deliveries are found through the index ``(status, not_before)``: a delivery
counts in the week it was sent, provided it was planned for at most ``LATE_SEND_DAYS`` before
(a retry's backoff is minutes; a sender down for more than four weeks is not a week's load).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.models import User
from yutang.access.roles import Principal
from yutang.campaigns import content as content_service
from yutang.campaigns import policy
from yutang.campaigns.follow_ups_models import FollowUpTask, TaskStatus
from yutang.campaigns.models import Campaign, CampaignChannel, Content, Delivery, DeliveryStatus
from yutang.campaigns.moments_models import MomentPost, MomentPostStatus
from yutang.campaigns.operator_load_schemas import (
    ActionSeconds,
    CampaignLoad,
    OperatorLoad,
    StaffLoad,
)
from yutang.kit.clock import local_day_start_utc, to_local, utcnow
from yutang.kit.errors import InvalidInput
from yutang.pool.models import Customer

LATE_SEND_DAYS = 28
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def week_monday(week: str | None, *, now: datetime | None = None) -> date:
    """The Monday of an ISO week ``YYYY-Www``; the current local week when None."""
    if not week:
        today = to_local(now or utcnow()).date()
        return today - timedelta(days=today.weekday())
    match = _ISO_WEEK.match(week.strip())
    try:
        if match is None:
            raise ValueError(week)
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as error:
        raise InvalidInput("week: an ISO week such as 2026-W50", fields=["week"]) from error


def week_name(monday: date) -> str:
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


@dataclass
class _Counts:
    tasks: int = 0
    deliveries: int = 0
    customers: int = 0
    groups: int = 0
    follow_ups: int = 0
    moments: int = 0


def _sent_in(start: datetime, end: datetime,
             senders: Sequence[str] | None) -> list[ColumnElement[bool]]:
    conditions = [Delivery.status == DeliveryStatus.SENT.value,
                  Delivery.not_before >= start - timedelta(days=LATE_SEND_DAYS),
                  Delivery.not_before < end, Delivery.sent_at >= start, Delivery.sent_at < end]
    if senders is not None:
        conditions.append(Delivery.sender_userid.in_(senders))
    return conditions


def _delivery_figures(*keys: Any) -> Select[Any]:
    return select(*keys, func.count(distinct(Delivery.message_ref)), func.count(),
                  func.count(distinct(Delivery.customer_id)),
                  func.count(distinct(Delivery.group_id)))


def _store_senders(session: Session, actor: Principal) -> list[str] | None:
    """The WeCom ids of a store-scoped viewer's store staff (None: everyone's)."""
    if not actor.is_store_scoped:
        return None
    return [str(userid) for userid in session.scalars(select(User.wecom_userid).where(
        User.store_id == actor.store_id, User.wecom_userid.is_not(None)))]


def _staff_counts(session: Session, start: datetime, end: datetime,
                  senders: Sequence[str] | None,
                  actor: Principal) -> dict[tuple[str | None, int | None], _Counts]:
    """Counts per staff member, keyed by (WeCom user id, user id)."""
    found: dict[tuple[str | None, int | None], _Counts] = {}
    statement = _delivery_figures(Delivery.sender_userid).where(
        *_sent_in(start, end, senders)).group_by(Delivery.sender_userid)
    users = {str(userid): user_id for user_id, userid in session.execute(
        select(User.id, User.wecom_userid).where(User.wecom_userid.is_not(None)))}
    for userid, tasks, deliveries, customers, groups in session.execute(statement):
        found[(userid, users.get(userid) if userid else None)] = _Counts(
            int(tasks), int(deliveries), int(customers), int(groups))
    done = _by_staff(session, actor, FollowUpTask.assignee_id, FollowUpTask.store_id,
                     FollowUpTask.status == TaskStatus.DONE.value,
                     FollowUpTask.completed_at >= start, FollowUpTask.completed_at < end)
    for key, count in done:
        found.setdefault(key, _Counts()).follow_ups += count
    posted = _by_staff(session, actor, MomentPost.staff_user_id, MomentPost.store_id,
                       MomentPost.status == MomentPostStatus.POSTED.value,
                       MomentPost.posted_at >= start, MomentPost.posted_at < end)
    for key, count in posted:
        found.setdefault(key, _Counts()).moments += count
    return found


def _by_staff(session: Session, actor: Principal, user: Any, store: Any,
              *conditions: ColumnElement[bool]) -> list[tuple[tuple[str | None, int | None], int]]:
    """Rows counted per staff member (their user column), keyed by (WeCom user id, user id);
    a store-scoped viewer counts their store's rows only."""
    statement = (select(user, User.wecom_userid, func.count())
                 .outerjoin(User, User.id == user).where(*conditions)
                 .group_by(user, User.wecom_userid))
    if actor.is_store_scoped:
        statement = statement.where(store == actor.store_id)
    return [((userid, user_id), int(count))
            for user_id, userid, count in session.execute(statement)]


def _names(session: Session, user_ids: set[int]) -> dict[int, str]:
    return {user_id: display or username for user_id, username, display in session.execute(
        select(User.id, User.username, User.display_name).where(User.id.in_(user_ids)))}


def _load(userid: str | None, user_id: int | None, name: str, counts: _Counts,
          seconds: ActionSeconds) -> StaffLoad:
    minutes = (counts.tasks * seconds.confirm_task + counts.follow_ups * seconds.follow_up
               + counts.moments * seconds.moment_post) / 60
    return StaffLoad(
        staff_userid=userid, user_id=user_id, name=name, tasks_to_confirm=counts.tasks,
        deliveries_sent=counts.deliveries, customers_reached=counts.customers,
        groups_reached=counts.groups, follow_ups_done=counts.follow_ups,
        moments_posted=counts.moments, staff_minutes=round(minutes, 2),
        customers_per_staff_hour=round(counts.customers / (minutes / 60), 2) if minutes
        else None)


def _campaigns(session: Session, start: datetime, end: datetime,
               senders: Sequence[str] | None) -> list[CampaignLoad]:
    statement = (select(Delivery.campaign_id, func.count(),
                        func.count(distinct(Delivery.message_ref)),
                        func.count(distinct(Delivery.sender_userid)))
                 .where(*_sent_in(start, end, senders)).group_by(Delivery.campaign_id))
    rows = session.execute(statement).all()
    found: list[CampaignLoad] = []
    for campaign_id, recipients, confirmations, staff in rows:
        campaign = session.get_one(Campaign, campaign_id)
        content = session.get_one(Content, campaign.content_id)
        variables = (content_service.per_customer_variables(content.variables)
                     if campaign.channel == CampaignChannel.WECOM_SINGLE.value else [])
        found.append(CampaignLoad(
            campaign_id=campaign.id, name=campaign.name, channel=campaign.channel,
            recipients=int(recipients), confirmations=int(confirmations),
            confirmations_per_1000_recipients=round(1000 * confirmations / recipients, 2),
            staff_members=int(staff), per_customer_variables=variables,
            one_task_per_recipient=bool(variables)))
    found.sort(key=lambda item: (-item.confirmations, item.campaign_id))
    return found


def operator_load(session: Session, *, actor: Principal, week: str | None = None,
                  seconds: ActionSeconds | None = None,
                  now: datetime | None = None) -> OperatorLoad:
    """The week's staff work per staff member, in total and per campaign (a store-scoped
    viewer sees their store's staff)."""
    access_service.require(actor, policy.READ)
    chosen = seconds or ActionSeconds()
    monday = week_monday(week, now=now)
    start, end = local_day_start_utc(monday), local_day_start_utc(monday + timedelta(days=7))
    senders = _store_senders(session, actor)
    counts = _staff_counts(session, start, end, senders, actor)
    names = _names(session, {user_id for _, user_id in counts if user_id is not None})
    staff = [_load(userid, user_id, names.get(user_id or 0, userid or ""), figures, chosen)
             for (userid, user_id), figures in counts.items()]
    staff.sort(key=lambda row: (-row.tasks_to_confirm, -row.follow_ups_done, row.name))
    tasks, deliveries, customers, groups = session.execute(
        _delivery_figures().where(*_sent_in(start, end, senders))).one()
    total = _Counts(int(tasks), int(deliveries), int(customers), int(groups),
                    sum(row.follow_ups_done for row in staff),
                    sum(row.moments_posted for row in staff))
    members = sum(1 for row in staff if row.staff_userid or row.user_id)
    scheduled = total.deliveries
    by_hand = total.follow_ups + total.moments
    staff_tasks = total.tasks + total.follow_ups + total.moments
    pool = _pool_customers(session, actor)
    return OperatorLoad(
        week=week_name(monday), starts_at=start, ends_at=end, seconds=chosen, staff=staff,
        total=_load(None, None, "", total, chosen), staff_members=members,
        campaigns=_campaigns(session, start, end, senders),
        touches_scheduled=scheduled, touches_by_hand=by_hand,
        scheduled_share=(round(scheduled / (scheduled + by_hand), 4)
                         if scheduled + by_hand else None),
        staff_tasks=staff_tasks,
        staff_tasks_per_member_per_day=(round(staff_tasks / members / 7, 2) if members
                                        else None),
        pool_customers=pool,
        staff_tasks_per_10000_customers=(round(staff_tasks * 10_000 / pool, 2) if pool
                                         else None))


def _pool_customers(session: Session, actor: Principal) -> int:
    statement = select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None))
    if actor.is_store_scoped:
        statement = statement.where(Customer.store_id == actor.store_id)
    return int(session.scalar(statement) or 0)
