"""A constructed week of staff work (ISO week 2026-W50, Asia/Shanghai) for the operator-load
report's tests: three staff members, four campaigns sending in the week and around it,
follow-ups done, skipped or from the week before, and Moments posted, pending or posted the
week before."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tests.campaigns.support import approved_content, new_customer, new_store
from tests.support.factories import SYSTEM, make_user
from yutang.access.roles import Role
from yutang.campaigns import follow_ups
from yutang.campaigns.follow_ups_models import FollowUpTask
from yutang.campaigns.follow_ups_schemas import FollowUpRuleIn
from yutang.campaigns.models import Campaign, CampaignRun, Delivery
from yutang.campaigns.moments_models import MomentPost, MomentTask
from yutang.org.models import Store

MONDAY = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # 2026-12-07 00:00 in Shanghai
WEEK = "2026-W50"
_customer_ids = itertools.count(500_000)


def _run(db: Session, campaign_id: int) -> int:
    run = CampaignRun(campaign_id=campaign_id, occurrence=f"o{next(_customer_ids)}",
                      planned_for=MONDAY)
    db.add(run)
    db.flush()
    return run.id


def _sent(db: Session, campaign_id: int, run_id: int, *, sender: str | None,
          message_ref: str | None, count: int, at: datetime, group: bool = False,
          status: str = "sent", planned: datetime | None = None,
          customer_ids: list[int] | None = None) -> list[int]:
    ids = customer_ids or [next(_customer_ids) for _ in range(count)]
    for recipient in ids:
        db.add(Delivery(campaign_id=campaign_id, run_id=run_id,
                        customer_id=None if group else recipient,
                        group_id=recipient if group else None, status=status,
                        not_before=planned or at, sent_at=at if status == "sent" else None,
                        message_ref=message_ref, sender_userid=sender))
    db.flush()
    return ids


def _done(db: Session, rule_id: int, store: Store, assignee: int, at: datetime,
          status: str = "done") -> None:
    customer = new_customer(db, store)
    db.add(FollowUpTask(rule_id=rule_id, occurrence=f"c{customer.id}", customer_id=customer.id,
                        store_id=store.id, assignee_id=assignee, status=status,
                        due_at=at, completed_at=at, outcome="reached" if status == "done"
                        else None))
    db.flush()


def _moment_task(db: Session, *, due: datetime) -> MomentTask:
    task = MomentTask(title="本周新品", body="{store}本周新品到店", due_at=due)
    db.add(task)
    db.flush()
    return task


def _moment_post(db: Session, task: MomentTask, user_id: int, store: Store,
                 posted_at: datetime | None) -> None:
    db.add(MomentPost(task_id=task.id, staff_user_id=user_id, store_id=store.id,
                      status="posted" if posted_at else "pending", posted_at=posted_at))
    db.flush()


def _campaign(db: Session, name: str, channel: str, body: str) -> Campaign:
    made = Campaign(name=name, channel=channel, status="active", schedule_kind="once",
                    audience_kind="groups" if channel == "wecom_group" else "segment",
                    content_id=approved_content(db, body).id, send_at=MONDAY)
    db.add(made)
    db.flush()
    return made


def constructed_week(db: Session) -> dict[str, Any]:
    """Staff a (WeCom ``staff-a``, store one), b (``staff-b``, store two), c (no WeCom id,
    store two: follow-ups only); four campaigns sending in the week and around it."""
    one, two = new_store(db), new_store(db)
    a = make_user(db, "staff-a", Role.STAFF, one)
    a.display_name = "王店员"
    b = make_user(db, "staff-b", Role.STAFF, two)
    c = make_user(db, "staff-c", Role.STAFF, two)
    c.wecom_userid = None
    manager = make_user(db, "manager-one", Role.STORE_MANAGER, one)
    shared = _campaign(db, "周二上新", "wecom_single", "本周新品到店")
    personal = _campaign(db, "到账提醒", "wecom_single", "{name}您好，{coupon}已到账")
    groups = _campaign(db, "群发", "wecom_group", "{name}群公告")  # no customer in a group
    demo = _campaign(db, "演示", "wecom_single", "演示")
    tuesday, wednesday = MONDAY + timedelta(days=1, hours=4), MONDAY + timedelta(days=2)
    run = _run(db, shared.id)
    _sent(db, shared.id, run, sender="staff-a", message_ref="msg-a1", count=20, at=tuesday)
    _sent(db, shared.id, run, sender="staff-a", message_ref="msg-a2", count=10, at=tuesday)
    _sent(db, shared.id, run, sender="staff-a", message_ref="msg-a2", count=1, at=tuesday,
          planned=tuesday - timedelta(days=10))  # sent late: counts in the week it went out
    overlap = _sent(db, shared.id, run, sender="staff-b", message_ref="msg-b1", count=5,
                    at=wednesday)
    # Outside: refused by WeCom, sent the week before, after the week, still planned.
    _sent(db, shared.id, run, sender="staff-a", message_ref="msg-a1", count=1, at=tuesday,
          status="failed")
    _sent(db, shared.id, run, sender="staff-a", message_ref="msg-old", count=3,
          at=MONDAY - timedelta(seconds=1))
    _sent(db, shared.id, run, sender="staff-b", message_ref="msg-next", count=2,
          at=MONDAY + timedelta(days=7))
    _sent(db, shared.id, run, sender=None, message_ref=None, count=4, at=tuesday,
          status="planned")
    run = _run(db, personal.id)
    for number, customer_id in enumerate([overlap[0], *(next(_customer_ids) for _ in range(3))]):
        _sent(db, personal.id, run, sender="staff-b", message_ref=f"msg-p{number}", count=1,
              at=wednesday, customer_ids=[customer_id])
    _sent(db, groups.id, _run(db, groups.id), sender="staff-a", message_ref="msg-g1", count=3,
          at=wednesday, group=True)
    _sent(db, demo.id, _run(db, demo.id), sender=None, message_ref=None, count=2, at=tuesday)
    rule = follow_ups.create_rule(db, actor=SYSTEM, data=FollowUpRuleIn(
        name="首单回访", kind="first_order", content_id=approved_content(db, "回访话术").id,
        days=3))
    for moment in (tuesday, wednesday):
        _done(db, rule.id, one, a.id, moment)
    _done(db, rule.id, one, a.id, MONDAY - timedelta(hours=1))  # last week
    _done(db, rule.id, one, a.id, tuesday, status="skipped")
    for _ in range(3):
        _done(db, rule.id, two, c.id, wednesday)
    # Moments: a and c posted this week; b has not; a's post of last week is last week's.
    this_week = _moment_task(db, due=MONDAY + timedelta(days=7))
    _moment_post(db, this_week, a.id, one, tuesday)
    _moment_post(db, this_week, c.id, two, wednesday)
    _moment_post(db, this_week, b.id, two, None)
    _moment_post(db, _moment_task(db, due=MONDAY), a.id, one, MONDAY - timedelta(hours=2))
    return {"a": a.id, "b": b.id, "c": c.id, "manager": manager, "store": one,
            "shared": shared.id,
            "personal": personal.id, "groups": groups.id, "demo": demo.id}
