"""Builders of the programme results tests: campaigns promoting a fission task or a group-buy
deal, and their deliveries written directly, so each test says exactly who was treated (sent
or failed), held out, suppressed or only planned, and when."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tests.campaigns.support import campaign, new_customer, order, segment
from tests.support.factories import SYSTEM
from yutang.campaigns.models import Campaign, CampaignRun, Delivery, DeliveryStatus
from yutang.fission import tasks as task_service
from yutang.fission.models import (
    EdgeStatus,
    FissionReward,
    FissionTask,
    OwnerKind,
    ReferralCode,
    ReferralEdge,
    RewardKind,
    RewardStatus,
    TaskParticipant,
)
from yutang.fission.task_schemas import FissionTaskCreate
from yutang.org.models import Store
from yutang.pool.models import Customer, Order, OrderItem, OrderStatus

SEND = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def promoting_campaign(db: Session, store: Store, **fields: Any) -> Campaign:
    """An active one-off campaign over the store's customers (deliveries come from
    ``deliver``, not from planning)."""
    rule = {"field": "store", "op": "eq", "value": store.id}
    return campaign(db, segment_id=segment(db, rule).id, send_at=SEND, **fields)


def deliver(db: Session, promoting: Campaign, customer: Customer, status: DeliveryStatus,
            at: datetime = SEND) -> Delivery:
    """A delivery of ``status``: sent ones are sent at ``at``; others wait for ``at``."""
    run = CampaignRun(campaign_id=promoting.id, occurrence=f"test-{next(_numbers)}",
                      planned_for=at)
    db.add(run)
    db.flush()
    delivery = Delivery(campaign_id=promoting.id, run_id=run.id, customer_id=customer.id,
                        status=status.value, not_before=at,
                        sent_at=at if status is DeliveryStatus.SENT else None)
    db.add(delivery)
    db.flush()
    return delivery


def points_task(db: Session, points: int = 100) -> FissionTask:
    return task_service.create_task(db, actor=SYSTEM, data=FissionTaskCreate(
        name=f"邀2位好友得积分{next(_numbers)}", invite_target=2, window_days=7,
        reward_kind=RewardKind.POINTS, reward_points=points,
        starts_at=SEND - timedelta(days=30)))


def participate(db: Session, task: FissionTask, customer: Customer,
                at: datetime) -> tuple[TaskParticipant, ReferralCode]:
    code = ReferralCode(code=f"pt{next(_numbers):08d}", owner_kind=OwnerKind.CUSTOMER.value,
                        customer_id=customer.id, task_id=task.id, created_at=at)
    db.add(code)
    db.flush()
    participant = TaskParticipant(task_id=task.id, customer_id=customer.id,
                                  participant_key=customer.id, code_id=code.id, started_at=at,
                                  deadline=at + timedelta(days=task.window_days))
    db.add(participant)
    db.flush()
    return participant, code


def invite(db: Session, store: Store, code: ReferralCode, status: EdgeStatus,
           at: datetime) -> ReferralEdge:
    friend = new_customer(db, None)
    edge = ReferralEdge(code_id=code.id, task_id=code.task_id,
                        referrer_kind=OwnerKind.CUSTOMER.value,
                        referrer_customer_id=code.customer_id, referee_customer_id=friend.id,
                        referee_key=friend.id, status=status.value, clicked_at=at,
                        joined_at=None if status is EdgeStatus.CLICKED else at,
                        rejected_at=at if status is EdgeStatus.REJECTED else None)
    db.add(edge)
    db.flush()
    return edge


def reward(db: Session, task: FissionTask, customer: Customer, *, kind: RewardKind,
           participant: TaskParticipant | None = None, edge: ReferralEdge | None = None,
           points: int | None = None, coupon_code: str | None = None,
           granted: bool = True) -> FissionReward:
    row = FissionReward(reward_key=f"test-reward-{next(_numbers)}", kind=kind.value,
                        status=(RewardStatus.GRANTED if granted else RewardStatus.PENDING).value,
                        customer_id=customer.id, task_id=task.id,
                        participant_id=participant.id if participant else None,
                        edge_id=edge.id if edge else None, points=points,
                        coupon_code=coupon_code, granted_at=SEND if granted else None)
    db.add(row)
    db.flush()
    return row


def full_price_order(db: Session, customer: Customer, *, sku: str, price_fen: int,
                     at: datetime) -> Order:
    placed = order(db, customer, at=at, paid_fen=price_fen, status=OrderStatus.COMPLETED)
    db.add(OrderItem(order_id=placed.id, sku=sku, quantity=1, unit_price_fen=price_fen,
                     amount_fen=price_fen))
    db.flush()
    return placed
