"""Every query of fission tasks, participants and rewards. Counters and one-time moves are
single conditional statements (no check-then-act)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from yutang.fission.models import (
    EdgeStatus,
    FissionReward,
    FissionTask,
    ReferralEdge,
    RewardKind,
    RewardStatus,
    TaskParticipant,
)
from yutang.kit.sql import in_list, insert_into, table_of
from yutang.pool.models import Product


def task_by_id(session: Session, task_id: int) -> FissionTask | None:
    return session.get(FissionTask, task_id)


def tasks(session: Session, limit: int = 200) -> Sequence[FissionTask]:
    return session.scalars(select(FissionTask).order_by(FissionTask.id.desc()).limit(limit)).all()


def task_counts(session: Session, task_ids: Collection[int]) -> dict[int, tuple[int, int, int]]:
    """task id → (participants, completed, rewards granted)."""
    if not task_ids:
        return {}
    completed = func.sum(case((TaskParticipant.completed_at.is_not(None), 1), else_=0))
    participants = {
        task_id: (int(total), int(done or 0)) for task_id, total, done in session.execute(
            select(TaskParticipant.task_id, func.count(), completed)
            .where(in_list(TaskParticipant.task_id, task_ids))
            .group_by(TaskParticipant.task_id))
    }
    granted = dict(session.execute(
        select(FissionReward.task_id, func.count())
        .where(in_list(FissionReward.task_id, task_ids),
               FissionReward.status == RewardStatus.GRANTED.value)
        .group_by(FissionReward.task_id)).all())
    return {task_id: (*participants.get(task_id, (0, 0)), int(granted.get(task_id, 0)))
            for task_id in task_ids}


def product_exists(session: Session, sku: str) -> bool:
    return session.scalar(select(Product.id).where(Product.sku == sku)) is not None


def participants_of_task(session: Session, task_id: int,
                         limit: int) -> Sequence[TaskParticipant]:
    return session.scalars(select(TaskParticipant).where(TaskParticipant.task_id == task_id)
                           .order_by(TaskParticipant.id).limit(limit)).all()


def insert_participant(session: Session, values: dict[str, Any]) -> int | None:
    table = table_of(TaskParticipant)
    return session.execute(
        insert_into(session, TaskParticipant).values(**values)
        .on_conflict_do_nothing(index_elements=["task_id", "participant_key"])
        .returning(table.c.id)).scalar_one_or_none()


def participant_by_key(session: Session, task_id: int, key: int) -> TaskParticipant | None:
    return session.scalars(select(TaskParticipant).where(
        TaskParticipant.task_id == task_id, TaskParticipant.participant_key == key)
        .execution_options(populate_existing=True)).one_or_none()


def participant_of(session: Session, task_id: int, customer_id: int) -> TaskParticipant | None:
    """The customer's participation (the earliest, after a merge brought two)."""
    return session.scalars(select(TaskParticipant).where(
        TaskParticipant.task_id == task_id, TaskParticipant.customer_id == customer_id)
        .order_by(TaskParticipant.id).limit(1)
        .execution_options(populate_existing=True)).first()


def participant_by_code(session: Session, code_id: int) -> TaskParticipant | None:
    return session.scalars(select(TaskParticipant).where(TaskParticipant.code_id == code_id)
                           .execution_options(populate_existing=True)).first()


def participant_by_id(session: Session, participant_id: int) -> TaskParticipant | None:
    return session.get(TaskParticipant, participant_id, populate_existing=True)


def count_join(session: Session, participant_id: int, joined_at: datetime) -> int | None:
    """One more friend joined in time: the new count, or None when past the deadline."""
    table = table_of(TaskParticipant)
    found = session.execute(
        update(TaskParticipant)
        .where(TaskParticipant.id == participant_id, TaskParticipant.deadline >= joined_at,
               TaskParticipant.started_at <= joined_at)
        .values(qualified=TaskParticipant.qualified + 1).returning(table.c.qualified)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    return None if found is None else int(found)


def uncount_join(session: Session, participant_id: int) -> bool:
    """Take a rejected friend back while the task is not completed."""
    table = table_of(TaskParticipant)
    return session.execute(
        update(TaskParticipant)
        .where(TaskParticipant.id == participant_id, TaskParticipant.completed_at.is_(None),
               TaskParticipant.qualified > 0)
        .values(qualified=TaskParticipant.qualified - 1).returning(table.c.id)
        .execution_options(synchronize_session=False)).first() is not None


def complete(session: Session, participant_id: int, target: int, at: datetime) -> bool:
    """Mark the participant completed, once: True for the one transaction that did."""
    table = table_of(TaskParticipant)
    return session.execute(
        update(TaskParticipant)
        .where(TaskParticipant.id == participant_id, TaskParticipant.completed_at.is_(None),
               TaskParticipant.qualified >= target)
        .values(completed_at=at).returning(table.c.id)
        .execution_options(synchronize_session=False)).first() is not None


def invited_count(session: Session, task_id: int, customer_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(ReferralEdge).where(
        ReferralEdge.task_id == task_id, ReferralEdge.referrer_customer_id == customer_id))
        or 0)


def counted_edges(session: Session, participant_id: int) -> list[int]:
    return [int(edge_id) for edge_id in session.scalars(
        select(ReferralEdge.id).where(ReferralEdge.counted_for_id == participant_id,
                                      ReferralEdge.status != EdgeStatus.REJECTED.value)
        .order_by(ReferralEdge.id))]


# --- rewards -------------------------------------------------------------------------------


def insert_reward(session: Session, values: dict[str, Any]) -> int | None:
    """Record a pending reward unless its key was recorded before; the new id or None."""
    table = table_of(FissionReward)
    return session.execute(
        insert_into(session, FissionReward).values(**values)
        .on_conflict_do_nothing(index_elements=["reward_key"])
        .returning(table.c.id)).scalar_one_or_none()


def reward_by_id(session: Session, reward_id: int) -> FissionReward | None:
    return session.get(FissionReward, reward_id, populate_existing=True)


def reward_by_key(session: Session, reward_key: str) -> FissionReward | None:
    return session.scalars(select(FissionReward).where(FissionReward.reward_key == reward_key)
                           .execution_options(populate_existing=True)).one_or_none()


def take_attempt(session: Session, reward_id: int) -> int | None:
    """Start a grant attempt of a pending reward (holds its row lock on PostgreSQL until
    commit): the attempt number, or None when it is granted already."""
    table = table_of(FissionReward)
    found = session.execute(
        update(FissionReward)
        .where(FissionReward.id == reward_id,
               FissionReward.status == RewardStatus.PENDING.value)
        .values(attempts=FissionReward.attempts + 1).returning(table.c.attempts)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    return None if found is None else int(found)


def finish_reward(session: Session, reward_id: int, *, at: datetime,
                  coupon_code: str | None) -> bool:
    table = table_of(FissionReward)
    return session.execute(
        update(FissionReward)
        .where(FissionReward.id == reward_id,
               FissionReward.status == RewardStatus.PENDING.value)
        .values(status=RewardStatus.GRANTED.value, granted_at=at, coupon_code=coupon_code,
                last_error="").returning(table.c.id)
        .execution_options(synchronize_session=False)).first() is not None


def note_failure(session: Session, reward_id: int, error_code: str) -> None:
    session.execute(update(FissionReward).where(FissionReward.id == reward_id)
                    .values(last_error=error_code[:64])
                    .execution_options(synchronize_session=False))


def pending_rewards(session: Session, limit: int) -> list[int]:
    return [int(reward_id) for reward_id in session.scalars(
        select(FissionReward.id).where(FissionReward.status == RewardStatus.PENDING.value)
        .order_by(FissionReward.id).limit(limit))]


def participant_reward(session: Session, participant_id: int) -> FissionReward | None:
    return session.scalars(select(FissionReward).where(
        FissionReward.participant_id == participant_id)
        .execution_options(populate_existing=True).order_by(FissionReward.id).limit(1)).first()


def purchase_rights(session: Session, customer_id: int) -> Sequence[FissionReward]:
    return session.scalars(select(FissionReward).where(
        FissionReward.customer_id == customer_id,
        FissionReward.kind == RewardKind.PURCHASE_RIGHT.value,
        FissionReward.status == RewardStatus.GRANTED.value).order_by(FissionReward.id)).all()


# --- results of a task (campaigns.programme_results) ----------------------------------------


def participations_of(session: Session, task_id: int, customer_ids: Collection[int]
                      ) -> Sequence[tuple[int, int, int, datetime]]:
    """``(participant id, customer id, code id, started at)`` of the customers' participations
    in the task, oldest first."""
    if not customer_ids:
        return []
    rows = session.execute(
        select(TaskParticipant.id, TaskParticipant.customer_id, TaskParticipant.code_id,
               TaskParticipant.started_at)
        .where(TaskParticipant.task_id == task_id,
               in_list(TaskParticipant.customer_id, customer_ids))
        .order_by(TaskParticipant.started_at, TaskParticipant.id)).all()
    return [(int(pid), int(customer), int(code), at) for pid, customer, code, at in rows]


def joined_through(session: Session, code_ids: Collection[int]) -> int:
    """Friends who joined through the codes (not rejected)."""
    if not code_ids:
        return 0
    return int(session.scalar(select(func.count()).select_from(ReferralEdge).where(
        in_list(ReferralEdge.code_id, code_ids), ReferralEdge.joined_at.is_not(None),
        ReferralEdge.status != EdgeStatus.REJECTED.value)) or 0)


def granted_rewards_of(session: Session, participant_ids: Collection[int],
                       code_ids: Collection[int]) -> Sequence[tuple[str, int, str | None]]:
    """``(kind, points, coupon code)`` of the granted rewards of the participants, and of the
    commissions paid on first orders of friends who came through the codes."""
    if not participant_ids:
        return []
    through_codes = select(ReferralEdge.id).where(in_list(ReferralEdge.code_id, code_ids))
    rows = session.execute(
        select(FissionReward.kind, FissionReward.points, FissionReward.coupon_code)
        .where(FissionReward.status == RewardStatus.GRANTED.value,
               or_(in_list(FissionReward.participant_id, participant_ids),
                   FissionReward.edge_id.in_(through_codes)))
        .order_by(FissionReward.id)).all()
    return [(str(kind), int(points or 0), code) for kind, points, code in rows]
