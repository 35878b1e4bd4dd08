"""Rewards of fission: recorded as pending first, granted exactly once.

A reward is owed when a participant completes a task (or, with commissions on, when a
referee's first order comes in). It is recorded with a unique ``reward_key`` (``INSERT … ON
CONFLICT DO NOTHING``: a second record of the same reward is impossible), then granted in
the same transaction:

1. ``take_attempt``: one conditional UPDATE from ``pending`` that counts the attempt (on
   PostgreSQL it holds the reward's row lock until commit, so a concurrent granter waits and
   then finds it granted);
2. the grant through offers — a coupon claim or points earned, with the idempotency key
   ``fission-reward-<id>-<attempt>`` (a replay of the same attempt answers the same coupon);
   a purchase right needs nothing outside;
3. ``finish_reward``: ``pending → granted`` in one conditional UPDATE.

If offers refuses (out of stock, template closed…), the reward stays pending with the error
code, and ``yutang fission sweep`` tries again with a new attempt. A crash rolls everything
back together: nothing is granted without being recorded as granted, and the reverse.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.fission import task_repository as repository
from yutang.fission.models import FissionReward, RewardKind
from yutang.kit.clock import utcnow
from yutang.offers import service as offers
from yutang.offers.models import ClaimSource
from yutang.offers.schemas import ClaimIn, PointsEarnIn

REWARD_ACTOR = Principal.system("fission")


def owe(session: Session, *, reward_key: str, kind: RewardKind, customer_id: int,
        task_id: int | None = None, participant_id: int | None = None,
        edge_id: int | None = None, coupon_template_id: int | None = None,
        points: int | None = None, product_sku: str | None = None) -> FissionReward | None:
    """Record the reward (pending) and grant it; None when it was recorded before."""
    reward_id = repository.insert_reward(session, {
        "reward_key": reward_key, "kind": kind.value, "customer_id": customer_id,
        "task_id": task_id, "participant_id": participant_id, "edge_id": edge_id,
        "coupon_template_id": coupon_template_id, "points": points,
        "product_sku": product_sku, "created_at": utcnow(),
    })
    if reward_id is None:
        return None
    grant(session, reward_id=int(reward_id))
    return repository.reward_by_id(session, int(reward_id))


def grant(session: Session, *, reward_id: int) -> bool:
    """Grant a pending reward; whether this call granted it."""
    attempt = repository.take_attempt(session, reward_id)
    if attempt is None:
        return False
    reward = repository.reward_by_id(session, reward_id)
    assert reward is not None
    coupon_code: str | None = None
    key = f"fission-reward-{reward.id}-{attempt}"
    if reward.kind == RewardKind.COUPON.value:
        assert reward.coupon_template_id is not None
        outcome = offers.claim(session, actor=REWARD_ACTOR, template_id=reward.coupon_template_id,
                               data=ClaimIn(idempotency_key=key, customer_id=reward.customer_id,
                                            source=ClaimSource.FISSION))
        if not outcome.succeeded:
            repository.note_failure(session, reward.id, outcome.error_code or "refused")
            return False
        coupon_code = str(outcome.body["code"])
    elif reward.kind in (RewardKind.POINTS.value, RewardKind.COMMISSION.value):
        outcome = offers.earn_points(session, actor=REWARD_ACTOR, customer_id=reward.customer_id,
                                     data=PointsEarnIn(idempotency_key=key, points=reward.points,
                                                       reference=f"fission:{reward.reward_key}"))
        if not outcome.succeeded:
            repository.note_failure(session, reward.id, outcome.error_code or "refused")
            return False
    return repository.finish_reward(session, reward.id, at=utcnow(), coupon_code=coupon_code)


def retry_pending(session: Session, *, limit: int = 1_000) -> int:
    """Try again every reward still pending (the sweep); how many were granted now."""
    return sum(grant(session, reward_id=reward_id)
               for reward_id in repository.pending_rewards(session, limit))
