"""Fission tasks (任务宝): "invite N friends who join within D days → a reward".

A customer starts a task and gets a referral code of the task; every friend who joins
through it before the participant's deadline counts once (one conditional UPDATE of the
participant's counter, run by the one transaction that moved the friend's edge to joined).
The transaction whose count reaches N marks the participant completed — one conditional
UPDATE, so exactly one does — and records the reward as pending, then grants it
(:mod:`yutang.fission.task_rewards`). A rejected friend is taken back while the task is not
completed; a reward granted stays granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import referral_repository, task_rewards
from yutang.fission import task_repository as repository
from yutang.fission.errors import (
    CommissionsDisabled,
    FissionTaskClosed,
    FissionTaskNotFound,
    InvalidFissionTask,
    ParticipantNotFound,
)
from yutang.fission.models import (
    FissionTask,
    OwnerKind,
    ReferralCode,
    ReferralEdge,
    RewardKind,
    TaskParticipant,
    TaskStatus,
)
from yutang.fission.referral_codes import new_code
from yutang.fission.task_schemas import (
    FissionTaskCreate,
    FissionTaskRead,
    ParticipantRead,
    PurchaseRightRead,
    RewardRead,
)
from yutang.kit.clock import ensure_utc, utcnow
from yutang.offers import service as offers
from yutang.pool import service as pool_service


@dataclass(frozen=True)
class FissionPolicy:
    commissions_enabled: bool = False
    """Seed 002: value, not a pyramid. Off by default; when on, only the direct referrer of a
    first order earns (single level), never their referrer."""


DEFAULT_POLICY = FissionPolicy()


def create_task(session: Session, *, actor: Principal, data: FissionTaskCreate,
                policy: FissionPolicy = DEFAULT_POLICY) -> FissionTask:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    if data.commission_points and not policy.commissions_enabled:
        raise CommissionsDisabled("commissions are off: reward the task, not a chain")
    if data.coupon_template_id is not None:
        offers.get_template(session, template_id=data.coupon_template_id)
    if data.product_sku is not None and not repository.product_exists(session,
                                                                         data.product_sku):
        raise InvalidFissionTask(f"no product {data.product_sku!r}", product_sku=data.product_sku)
    task = FissionTask(
        name=data.name, invite_target=data.invite_target, window_days=data.window_days,
        reward_kind=data.reward_kind.value, coupon_template_id=data.coupon_template_id,
        reward_points=data.reward_points, product_sku=data.product_sku,
        commission_points=data.commission_points,
        starts_at=ensure_utc(data.starts_at) if data.starts_at else utcnow(),
        ends_at=ensure_utc(data.ends_at) if data.ends_at else None, created_by=actor.name)
    session.add(task)
    session.flush()
    access_service.record_audit(session, actor=actor, action="fission_task.create",
                                entity_type="fission_task", entity_id=task.id,
                                details={"name": task.name, "reward_kind": task.reward_kind,
                                         "invite_target": task.invite_target,
                                         "window_days": task.window_days})
    return task


def get_task(session: Session, *, task_id: int) -> FissionTask:
    task = repository.task_by_id(session, task_id)
    if task is None:
        raise FissionTaskNotFound(f"no fission task {task_id}", task_id=task_id)
    return task


def present_tasks(session: Session, tasks: list[FissionTask]) -> list[FissionTaskRead]:
    counts = repository.task_counts(session, [task.id for task in tasks])
    reads = []
    for task in tasks:
        participants, completed, granted = counts.get(task.id, (0, 0, 0))
        read = FissionTaskRead.model_validate(task)
        reads.append(read.model_copy(update={"participants": participants,
                                             "completed": completed,
                                             "rewards_granted": granted}))
    return reads


def list_tasks(session: Session, *, actor: Principal) -> list[FissionTaskRead]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return present_tasks(session, list(repository.tasks(session)))


def close_task(session: Session, *, actor: Principal, task_id: int) -> FissionTask:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    task = get_task(session, task_id=task_id)
    task.status = TaskStatus.CLOSED.value
    session.flush()
    access_service.record_audit(session, actor=actor, action="fission_task.close",
                                entity_type="fission_task", entity_id=task.id)
    return task


def participate(session: Session, *, actor: Principal, task_id: int,
                customer_id: int) -> tuple[TaskParticipant, bool]:
    """Start the task for the customer (their task code made); (participant, created)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    task = get_task(session, task_id=task_id)
    customer = pool_service.get_customer(session, principal=actor, customer_id=customer_id)
    existing = repository.participant_of(session, task.id, customer.id)
    if existing is not None:
        return existing, False
    now = utcnow()
    if task.status != TaskStatus.ACTIVE.value or now < task.starts_at or (
            task.ends_at is not None and now >= task.ends_at):
        raise FissionTaskClosed(f"the fission task {task.id} takes no participants",
                                task_id=task.id)
    code = ReferralCode(code=new_code(), owner_kind=OwnerKind.CUSTOMER.value,
                        customer_id=customer.id, task_id=task.id, store_id=customer.store_id,
                        created_by=actor.name, created_at=now)
    session.add(code)
    session.flush()
    participant_id = repository.insert_participant(session, {
        "task_id": task.id, "customer_id": customer.id, "participant_key": customer.id,
        "code_id": code.id, "started_at": now,
        "deadline": now + timedelta(days=task.window_days), "qualified": 0,
    })
    if participant_id is None:  # a concurrent request started it first: keep theirs
        session.delete(code)
        session.flush()
        found = repository.participant_by_key(session, task.id, customer.id)
        assert found is not None
        return found, False
    participant = repository.participant_by_id(session, int(participant_id))
    assert participant is not None
    return participant, True


def progress(session: Session, *, actor: Principal, task_id: int,
             customer_id: int) -> ParticipantRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    task = get_task(session, task_id=task_id)
    customer = pool_service.get_customer(session, principal=actor, customer_id=customer_id)
    participant = repository.participant_of(session, task.id, customer.id)
    if participant is None:
        raise ParticipantNotFound(f"customer {customer_id} has not started task {task_id}",
                                  task_id=task_id, customer_id=customer_id)
    return present_participant(session, task, participant)


def present_participant(session: Session, task: FissionTask,
                        participant: TaskParticipant) -> ParticipantRead:
    code = session.get(ReferralCode, participant.code_id)
    assert code is not None
    reward = repository.participant_reward(session, participant.id)
    return ParticipantRead(
        task_id=task.id, customer_id=participant.customer_id, code=code.code,
        started_at=participant.started_at, deadline=participant.deadline,
        invite_target=task.invite_target,
        invited=repository.invited_count(session, task.id, participant.customer_id),
        joined=participant.qualified,
        remaining=max(0, task.invite_target - participant.qualified),
        completed_at=participant.completed_at,
        reward=RewardRead.model_validate(reward) if reward is not None else None)


def purchase_rights(session: Session, *, actor: Principal,
                    customer_id: int) -> list[PurchaseRightRead]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    customer = pool_service.get_customer(session, principal=actor, customer_id=customer_id)
    return [PurchaseRightRead(customer_id=customer.id, product_sku=reward.product_sku or "",
                              task_id=reward.task_id, granted_at=reward.granted_at
                              or reward.created_at)
            for reward in repository.purchase_rights(session, customer.id)]


# --- reactions of edges --------------------------------------------------------------------


def count_join(session: Session, *, edge: ReferralEdge, joined_at: datetime) -> None:
    """A friend joined through a task code: count them for the participant (the caller
    moved the edge to joined, so this runs once per edge)."""
    if edge.task_id is None:
        return
    participant = repository.participant_by_code(session, edge.code_id)
    task = repository.task_by_id(session, edge.task_id)
    if participant is None or task is None:
        return
    count = repository.count_join(session, participant.id, joined_at)
    if count is None:
        return
    referral_repository.set_counted_for(session, edge.id, participant.id)
    if count >= task.invite_target and repository.complete(
            session, participant.id, task.invite_target, utcnow()):
        task_rewards.owe(
            session, reward_key=f"task:{task.id}:participant:{participant.id}",
            kind=RewardKind(task.reward_kind), customer_id=participant.customer_id,
            task_id=task.id, participant_id=participant.id,
            coupon_template_id=task.coupon_template_id, points=task.reward_points,
            product_sku=task.product_sku)
        for edge_id in repository.counted_edges(session, participant.id):
            referral_repository.mark_rewarded(session, edge_id, utcnow())


def uncount_join(session: Session, *, edge: ReferralEdge) -> None:
    """A counted friend was rejected: take them back unless the task is completed."""
    if edge.counted_for_id is not None and repository.uncount_join(session,
                                                                   edge.counted_for_id):
        referral_repository.set_counted_for(session, edge.id, None)


def pay_commission(session: Session, *, edge: ReferralEdge) -> None:
    """A referee's first order, on a task with commissions: points for the direct referrer
    only (one level), once per edge."""
    if edge.task_id is None or edge.referrer_customer_id is None:
        return
    task = repository.task_by_id(session, edge.task_id)
    if task is None or task.commission_points <= 0:
        return
    task_rewards.owe(session, reward_key=f"commission:edge:{edge.id}",
                     kind=RewardKind.COMMISSION, customer_id=edge.referrer_customer_id,
                     task_id=task.id, edge_id=edge.id, points=task.commission_points)
