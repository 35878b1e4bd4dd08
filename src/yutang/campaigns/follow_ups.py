"""Follow-up use cases: rules, the sweep that turns them into tasks assigned to store staff,
a staff member's list, closing a task (done with an outcome and perhaps the next contact
date, or skipped), and completion per staff member for managers.

Assignment: a new task goes to the staff member of the customer's store with the fewest open
tasks (ties to the lowest id), else to the store's manager, else nobody (managers and HQ see
unassigned tasks). A store manager sees and closes every task of the store; staff see and
close their own; HQ sees all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.models import User
from yutang.access.roles import ActorKind, Permission, Principal, Role
from yutang.campaigns import content as content_service
from yutang.campaigns import policy
from yutang.campaigns.follow_ups_errors import (
    FollowUpNotYours,
    FollowUpRuleNotFound,
    FollowUpTaskClosed,
    FollowUpTaskNotFound,
    InvalidNextContact,
)
from yutang.campaigns.follow_ups_models import FollowUpRule, FollowUpTask, TaskStatus
from yutang.campaigns.follow_ups_rules import Candidate, candidates
from yutang.campaigns.follow_ups_schemas import (
    FollowUpRuleIn,
    FollowUpRuleRead,
    GenerationReport,
    StaffCompletion,
    TaskDone,
    TaskRead,
)
from yutang.kit.clock import local_day_start_utc, to_local, utcnow
from yutang.pool import service as pool_service
from yutang.pool.models import Customer

WORK = Permission.CUSTOMERS_WRITE
SEE = Permission.CUSTOMERS_READ
NEXT_CONTACT_HOUR = timedelta(hours=10)
"""A next-contact task is due at 10:00 local on the chosen day."""


def present_rule(rule: FollowUpRule) -> FollowUpRuleRead:
    return FollowUpRuleRead(id=rule.id, name=rule.name, kind=rule.kind,
                            content_id=rule.content_id, days=rule.days,
                            due_days=rule.due_days, is_active=rule.is_active)


def create_rule(session: Session, *, actor: Principal, data: FollowUpRuleIn) -> FollowUpRule:
    """A rule with an approved script from the content library."""
    access_service.require(actor, policy.MANAGE)
    content_service.require_approved(session, content_id=data.content_id)
    rule = FollowUpRule(name=data.name.strip(), kind=data.kind.value,
                        content_id=data.content_id, days=data.days, due_days=data.due_days,
                        created_by=actor.name)
    session.add(rule)
    session.flush()
    access_service.record_audit(session, actor=actor, action="follow_up_rule.create",
                                entity_type="follow_up_rule", entity_id=rule.id)
    return rule


def list_rules(session: Session, *, actor: Principal) -> Sequence[FollowUpRule]:
    access_service.require(actor, SEE)
    return session.scalars(select(FollowUpRule).order_by(FollowUpRule.id)).all()


def get_rule(session: Session, *, rule_id: int) -> FollowUpRule:
    rule = session.get(FollowUpRule, rule_id)
    if rule is None:
        raise FollowUpRuleNotFound(f"no follow-up rule {rule_id}", rule_id=rule_id)
    return rule


# --- the sweep ---------------------------------------------------------------------------------


class _Assigner:
    """Least-loaded staff member of the store, then its manager."""

    def __init__(self, session: Session) -> None:
        users = session.execute(select(User.id, User.store_id, User.role).where(
            User.is_active.is_(True), User.store_id.is_not(None),
            User.role.in_((Role.STAFF.value, Role.STORE_MANAGER.value)))
            .order_by(User.id)).all()
        self.staff: dict[int, list[int]] = {}
        self.managers: dict[int, list[int]] = {}
        for user_id, store_id, role in users:
            target = self.staff if role == Role.STAFF.value else self.managers
            target.setdefault(int(store_id or 0), []).append(int(user_id))
        self.load = {int(user_id or 0): int(count) for user_id, count in session.execute(
            select(FollowUpTask.assignee_id, func.count()).where(
                FollowUpTask.status == TaskStatus.OPEN.value,
                FollowUpTask.assignee_id.is_not(None)).group_by(FollowUpTask.assignee_id))}

    def pick(self, store_id: int | None) -> int | None:
        if store_id is None:
            return None
        people = self.staff.get(store_id) or self.managers.get(store_id) or []
        if not people:
            return None
        chosen = min(people, key=lambda user_id: (self.load.get(user_id, 0), user_id))
        self.load[chosen] = self.load.get(chosen, 0) + 1
        return chosen


def _existing(session: Session, rule_id: int, found: Sequence[Candidate]) -> set[str]:
    known: set[str] = set()
    keys = [candidate.occurrence for candidate in found]
    for start in range(0, len(keys), 1000):
        known |= set(session.scalars(select(FollowUpTask.occurrence).where(
            FollowUpTask.rule_id == rule_id,
            FollowUpTask.occurrence.in_(keys[start:start + 1000]))))
    return known


def generate_tasks(session: Session, *, actor: Principal,
                   now: datetime | None = None) -> GenerationReport:
    """Create the tasks every active rule calls for now (idempotent: a task per rule and
    occurrence)."""
    access_service.require(actor, policy.MANAGE)
    moment = now or utcnow()
    assigner = _Assigner(session)
    created: dict[str, int] = {}
    unassigned = 0
    rules = session.scalars(select(FollowUpRule).where(FollowUpRule.is_active.is_(True))
                            .order_by(FollowUpRule.id)).all()
    for rule in rules:
        found = candidates(session, rule, moment)
        known = _existing(session, rule.id, found)
        fresh = [candidate for candidate in found if candidate.occurrence not in known]
        for candidate in fresh:
            assignee = assigner.pick(candidate.store_id)
            unassigned += assignee is None
            session.add(FollowUpTask(
                rule_id=rule.id, occurrence=candidate.occurrence,
                customer_id=candidate.customer_id, store_id=candidate.store_id,
                assignee_id=assignee, status=TaskStatus.OPEN.value,
                due_at=moment + timedelta(days=rule.due_days), created_at=moment))
        created[str(rule.id)] = len(fresh)
    session.flush()
    if any(created.values()):
        access_service.record_audit(session, actor=actor, action="follow_up.generate",
                                    entity_type="follow_up_rule", details=dict(created))
    return GenerationReport(created=created, unassigned=unassigned)


# --- working tasks -------------------------------------------------------------------------


def _own_only(actor: Principal) -> bool:
    return actor.role is Role.STAFF and actor.kind is ActorKind.USER


def _scoped(actor: Principal) -> list[Any]:
    """The tasks the actor may see: their own (staff), their store's (manager), all (HQ)."""
    if _own_only(actor):
        return [FollowUpTask.assignee_id == actor.id]
    if actor.is_store_scoped:
        return [FollowUpTask.store_id == actor.store_id]
    return []


def _task_for(session: Session, actor: Principal, task_id: int) -> FollowUpTask:
    task = session.get(FollowUpTask, task_id)
    visible = task is not None and (
        not actor.is_store_scoped or task.store_id == actor.store_id)
    if task is None or not visible:
        raise FollowUpTaskNotFound(f"no follow-up task {task_id}", task_id=task_id)
    if _own_only(actor) and task.assignee_id != actor.id:
        raise FollowUpNotYours(f"task {task_id} is assigned to someone else", task_id=task_id)
    return task


def list_tasks(session: Session, *, actor: Principal, status: TaskStatus | None = None,
               limit: int = 200, now: datetime | None = None) -> list[TaskRead]:
    """The actor's tasks, the earliest due first (open ones unless a status is asked)."""
    access_service.require(actor, SEE)
    chosen = status or TaskStatus.OPEN
    order = FollowUpTask.due_at if chosen is TaskStatus.OPEN else FollowUpTask.completed_at.desc()
    tasks = session.scalars(select(FollowUpTask).where(
        FollowUpTask.status == chosen.value, *_scoped(actor))
        .order_by(order, FollowUpTask.id).limit(limit)).all()
    return present_tasks(session, actor=actor, tasks=tasks, now=now or utcnow())


def present_tasks(session: Session, *, actor: Principal, tasks: Sequence[FollowUpTask],
                  now: datetime) -> list[TaskRead]:
    rules = {rule.id: rule for rule in session.scalars(select(FollowUpRule).where(
        FollowUpRule.id.in_({task.rule_id for task in tasks})))} if tasks else {}
    users = dict(session.execute(select(User.id, User.username).where(
        User.id.in_({task.assignee_id for task in tasks if task.assignee_id}))).all())
    customers = {customer.id: customer for customer in session.scalars(
        select(Customer).where(Customer.id.in_({task.customer_id for task in tasks})))}
    names = pool_service.lookups(session)
    reads: list[TaskRead] = []
    for task in tasks:
        rule = rules[task.rule_id]
        shown = pool_service.present_customer(customers[task.customer_id], principal=actor,
                                              names=names)
        script = content_service.preview_content(
            session, actor=actor, content_id=rule.content_id,
            customer_id=task.customer_id).text
        reads.append(TaskRead(
            id=task.id, rule_id=rule.id, rule_name=rule.name, kind=rule.kind,
            customer_id=task.customer_id, customer_pseudonym=shown.pseudonym,
            customer_name=shown.name, store_id=task.store_id,
            assignee=users.get(task.assignee_id) if task.assignee_id else None,
            status=task.status, due_at=task.due_at,
            overdue=task.status == TaskStatus.OPEN.value and task.due_at < now,
            outcome=task.outcome, note=task.note, next_contact_on=task.next_contact_on,
            completed_at=task.completed_at, script=script))
    return reads


def complete_task(session: Session, *, actor: Principal, task_id: int, data: TaskDone,
                  now: datetime | None = None) -> FollowUpTask:
    """Done with an outcome; a next contact date opens the next task (same customer, same
    staff member, same rule) due at 10:00 local that day."""
    access_service.require(actor, WORK)
    moment = now or utcnow()
    if data.next_contact_on is not None and data.next_contact_on < to_local(moment).date():
        raise InvalidNextContact("the next contact date is in the past",
                                 next_contact_on=data.next_contact_on.isoformat())
    task = _close(session, actor, task_id, TaskStatus.DONE, moment)
    task.outcome, task.note = data.outcome.value, data.note.strip()
    task.next_contact_on = data.next_contact_on
    if data.next_contact_on is not None:
        session.add(FollowUpTask(
            rule_id=task.rule_id, occurrence=f"next:{task.id}", customer_id=task.customer_id,
            store_id=task.store_id, assignee_id=task.assignee_id, previous_task_id=task.id,
            status=TaskStatus.OPEN.value, created_at=moment,
            due_at=local_day_start_utc(data.next_contact_on) + NEXT_CONTACT_HOUR))
    session.flush()
    access_service.record_audit(session, actor=actor, action="follow_up.done",
                                entity_type="follow_up_task", entity_id=task.id,
                                details={"outcome": task.outcome})
    return task


def skip_task(session: Session, *, actor: Principal, task_id: int, note: str = "",
              now: datetime | None = None) -> FollowUpTask:
    access_service.require(actor, WORK)
    task = _close(session, actor, task_id, TaskStatus.SKIPPED, now or utcnow())
    task.note = note.strip()[:500]
    session.flush()
    access_service.record_audit(session, actor=actor, action="follow_up.skip",
                                entity_type="follow_up_task", entity_id=task.id)
    return task


def _close(session: Session, actor: Principal, task_id: int, status: TaskStatus,
           moment: datetime) -> FollowUpTask:
    task = _task_for(session, actor, task_id)
    closed = session.execute(  # type: ignore[attr-defined]
        update(FollowUpTask)
        .where(FollowUpTask.id == task.id, FollowUpTask.status == TaskStatus.OPEN.value)
        .values(status=status.value, completed_at=moment, completed_by=actor.name)
    ).rowcount
    if closed != 1:  # one atomic statement: two staff closing at once close it once
        raise FollowUpTaskClosed(f"task {task_id} is {task.status} already", task_id=task_id)
    session.refresh(task)
    return task


# --- completion per staff member ---------------------------------------------------------


def completion(session: Session, *, actor: Principal, first_day: date, last_day: date,
               now: datetime | None = None) -> list[StaffCompletion]:
    """Per assignee, the tasks due on local days ``first_day`` … ``last_day``."""
    access_service.require(actor, policy.READ)
    moment = now or utcnow()
    start, end = local_day_start_utc(first_day), local_day_start_utc(last_day + timedelta(1))
    status = FollowUpTask.status
    open_ = status == TaskStatus.OPEN.value
    statement = (select(
        User.username, User.display_name, User.store_id, func.count(),
        func.sum(case((status == TaskStatus.DONE.value, 1), else_=0)),
        func.sum(case((status == TaskStatus.SKIPPED.value, 1), else_=0)),
        func.sum(case((open_, 1), else_=0)),
        func.sum(case((open_ & (FollowUpTask.due_at < moment), 1), else_=0)),
        func.sum(case(((status == TaskStatus.DONE.value)
                       & (FollowUpTask.completed_at <= FollowUpTask.due_at), 1), else_=0)))
        .join(User, User.id == FollowUpTask.assignee_id)
        .where(FollowUpTask.due_at >= start, FollowUpTask.due_at < end)
        .group_by(User.username, User.display_name, User.store_id)
        .order_by(User.username))
    if actor.is_store_scoped:
        statement = statement.where(FollowUpTask.store_id == actor.store_id)
    rows: list[StaffCompletion] = []
    for username, display, store_id, assigned, done, skipped, open_count, overdue, on_time \
            in session.execute(statement):
        closed = int(done or 0) + int(skipped or 0)
        rows.append(StaffCompletion(
            username=username, display_name=display, store_id=store_id,
            assigned=int(assigned), done=int(done or 0), skipped=int(skipped or 0),
            open=int(open_count or 0), overdue=int(overdue or 0),
            done_on_time=int(on_time or 0),
            completion_rate=closed / int(assigned) if assigned else None))
    return rows
