"""Referral edges: who brought whom, and how far the friend got.

``record`` makes the edge when a friend comes through a code: single-level attribution, the
first referrer wins (``referee_key`` is unique: an ``INSERT … ON CONFLICT DO NOTHING``
decides between concurrent referrers), self-referrals and cycles are refused. Steps move
forward only, each in one conditional UPDATE (:mod:`referral_repository`), so a step's
reactions — a task counting the join, a commission for the first order — run exactly once.

The first order of a referred customer moves their edge to ``first_order`` by itself: the
pool announces changed orders after commit (``settle_orders``, the fast path) and
``sweep`` reads every order after a durable cursor (the guarantee), watching orders of open
referees that are not paid yet until they are.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import referral_repository as repository
from yutang.fission import task_rewards, tasks
from yutang.fission.errors import (
    AlreadyReferred,
    ReferralCodeInactive,
    ReferralCodeNotFound,
    ReferralCycle,
    ReferralNotFound,
    ReferralStatusConflict,
    SelfReferral,
)
from yutang.fission.models import EdgeStatus, ReferralCode, ReferralEdge
from yutang.fission.referral_schemas import ReferralIn, ReferralTransitionIn
from yutang.kit.clock import ensure_utc, utcnow
from yutang.pool import service as pool_service
from yutang.pool.errors import CustomerNotFound

ORDERS_CURSOR = "orders"
SWEEP_BATCH = 10_000


def record(session: Session, *, actor: Principal, data: ReferralIn) -> tuple[ReferralEdge, bool]:
    """The friend ``data.customer_id`` came through ``data.code``; (edge, created). The same
    referrer recording again gets the edge back (moved to joined if asked)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    code = repository.code_by_text(session, data.code)
    if code is None:
        raise ReferralCodeNotFound(f"no referral code {data.code!r}", code=data.code)
    referee = pool_service.get_customer(session, principal=actor, customer_id=data.customer_id)
    at = ensure_utc(data.at) if data.at is not None else utcnow()
    existing = repository.edge_of_referee(session, referee.id)
    if existing is not None:
        return _again(session, existing, code, data.status, at), False
    if not code.is_active:
        raise ReferralCodeInactive(f"the referral code {code.code} is not active",
                                   code=code.code)
    if code.customer_id is not None:
        if code.customer_id == referee.id:
            raise SelfReferral("a customer cannot refer themselves", customer_id=referee.id)
        if repository.ancestors_include(session, start_customer_id=code.customer_id,
                                        target_id=referee.id):
            raise ReferralCycle("the customer is above the referrer in the referral tree",
                                customer_id=referee.id, referrer_customer_id=code.customer_id)
    edge_id = repository.insert_edge(session, {
        "code_id": code.id, "task_id": code.task_id, "referrer_kind": code.owner_kind,
        "referrer_customer_id": code.customer_id, "referrer_staff_id": code.staff_user_id,
        "referrer_partner_id": code.partner_id, "referee_customer_id": referee.id,
        "referee_key": referee.id, "status": EdgeStatus.CLICKED.value, "clicked_at": at,
        "rejection_reason": "",
    })
    if edge_id is None:  # a concurrent request attributed the customer first
        found = repository.edge_by_referee_key(session, referee.id)
        assert found is not None
        return _again(session, found, code, data.status, at), False
    edge = repository.edge_by_id(session, edge_id)
    assert edge is not None
    if data.status is EdgeStatus.JOINED:
        edge = _join(session, edge, at)
    return edge, True


def _again(session: Session, edge: ReferralEdge, code: ReferralCode, status: EdgeStatus,
           at: datetime) -> ReferralEdge:
    if edge.code_id != code.id and not _same_referrer(edge, code):
        raise AlreadyReferred("the customer already has a referrer",
                              customer_id=edge.referee_customer_id, referral_id=edge.id)
    if status is EdgeStatus.JOINED and edge.joined_at is None:
        return _join(session, edge, at)
    return edge


def _same_referrer(edge: ReferralEdge, code: ReferralCode) -> bool:
    return (edge.task_id == code.task_id and edge.referrer_kind == code.owner_kind and (
        edge.referrer_customer_id, edge.referrer_staff_id, edge.referrer_partner_id) == (
        code.customer_id, code.staff_user_id, code.partner_id))


def _join(session: Session, edge: ReferralEdge, at: datetime) -> ReferralEdge:
    if edge.status != EdgeStatus.REJECTED.value and repository.mark_joined(session, edge.id, at):
        tasks.count_join(session, edge=edge, joined_at=at)
    return _reload(session, edge.id)


def _reload(session: Session, edge_id: int) -> ReferralEdge:
    edge = repository.edge_by_id(session, edge_id)
    assert edge is not None
    return edge


def get_edge(session: Session, *, actor: Principal, edge_id: int) -> ReferralEdge:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    edge = repository.edge_by_id(session, edge_id)
    if edge is None:
        raise ReferralNotFound(f"no referral {edge_id}", referral_id=edge_id)
    try:  # an edge of a customer the caller may not see does not exist for them
        pool_service.get_customer(session, principal=actor, customer_id=edge.referee_customer_id)
    except CustomerNotFound as error:
        raise ReferralNotFound(f"no referral {edge_id}", referral_id=edge_id) from error
    return edge


def transition(session: Session, *, actor: Principal, edge_id: int,
               data: ReferralTransitionIn) -> ReferralEdge:
    """Move the edge forward (or reject it); repeating a step already taken changes nothing;
    ``referral_status_conflict`` when the step is not allowed from where the edge is."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    edge = get_edge(session, actor=actor, edge_id=edge_id)
    at = ensure_utc(data.at) if data.at is not None else utcnow()
    target = data.status
    if not _reached(edge, target) and _move(session, actor, edge, data, at):
        return _reload(session, edge.id)
    if _reached(edge, target):
        return edge
    raise ReferralStatusConflict(f"the referral is {edge.status}: it cannot become {target}",
                                 referral_id=edge.id, status=edge.status,
                                 requested=target.value)


def _move(session: Session, actor: Principal, edge: ReferralEdge, data: ReferralTransitionIn,
          at: datetime) -> bool:
    """Take the step (with its reactions); whether the edge moved."""
    if edge.status == EdgeStatus.REJECTED.value:
        return False
    if data.status is EdgeStatus.JOINED:
        if repository.mark_joined(session, edge.id, at):
            tasks.count_join(session, edge=edge, joined_at=at)
            return True
        return False
    if data.status is EdgeStatus.FIRST_ORDER:
        return _first_order(session, edge, at, data.order_id)
    if data.status is EdgeStatus.REWARDED:
        return repository.mark_rewarded(session, edge.id, at)
    if not repository.mark_rejected(session, edge.id, at, data.reason):
        return False
    tasks.uncount_join(session, edge=edge)
    access_service.record_audit(session, actor=actor, action="referral.reject",
                                entity_type="referral_edge", entity_id=edge.id,
                                reason=data.reason)
    return True


def _reached(edge: ReferralEdge, target: EdgeStatus) -> bool:
    reached = {EdgeStatus.JOINED: edge.joined_at, EdgeStatus.FIRST_ORDER: edge.first_order_at,
               EdgeStatus.REWARDED: edge.rewarded_at, EdgeStatus.REJECTED: edge.rejected_at}
    return reached.get(target) is not None


def _first_order(session: Session, edge: ReferralEdge, at: datetime,
                 order_id: int | None) -> bool:
    first = edge.first_order_at is None
    if not repository.mark_first_order(session, edge.id, at, order_id):
        return False
    if first:
        tasks.pay_commission(session, edge=edge)
    return True


# --- first orders, automatically -----------------------------------------------------------


def settle_orders(session: Session, order_ids: Collection[int]) -> int:
    """Move the edges of referees whose first order is among ``order_ids`` (idempotent);
    unpaid orders of open referees are watched. How many edges moved."""
    if not order_ids:
        return 0
    moved = 0
    seen: set[int] = set()
    for edge_id, order_id, at in repository.first_order_candidates(session, order_ids):
        if edge_id in seen:
            continue  # earliest order first: later ones of the same referee change nothing
        seen.add(edge_id)
        edge = repository.edge_by_id(session, edge_id)
        if edge is not None and _first_order(session, edge, at, order_id):
            moved += 1
    repository.watch_orders(session, repository.unsettled_orders_of_open_referees(
        session, order_ids))
    return moved


@dataclass(frozen=True)
class SweepResult:
    orders_read: int
    first_orders: int
    watched_settled: int
    rewards_granted: int


def sweep(session: Session, *, batch: int = SWEEP_BATCH) -> SweepResult:
    """Catch up on everything a missed signal would have done: orders after the cursor,
    watched orders, rewards still pending. Idempotent."""
    position = repository.cursor_position(session, ORDERS_CURSOR)
    read = moved = 0
    while True:
        order_ids = repository.order_ids_after(session, position, batch)
        if not order_ids:
            break
        moved += settle_orders(session, order_ids)
        read += len(order_ids)
        position = order_ids[-1]
        repository.advance_cursor(session, ORDERS_CURSOR, position)
    watched = repository.watched_orders(session, batch)
    settled_watched = settle_orders(session, watched) if watched else 0
    still_open = set(repository.unsettled_orders_of_open_referees(session, watched))
    repository.unwatch_orders(session, [order for order in watched if order not in still_open])
    return SweepResult(orders_read=read, first_orders=moved + settled_watched,
                       watched_settled=settled_watched,
                       rewards_granted=task_rewards.retry_pending(session))
