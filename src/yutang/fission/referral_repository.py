"""Every query of referral codes and edges. Steps of an edge move in one conditional UPDATE
each: no row back means another transaction moved it first (or the step is not allowed)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session

from yutang.fission.models import (
    EdgeStatus,
    FissionCursor,
    ReferralCode,
    ReferralEdge,
    WatchedOrder,
)
from yutang.kit.clock import utcnow
from yutang.kit.sql import in_list, insert_into, table_of
from yutang.pool.models import Order, OrderStatus

OPEN_STATUSES = (EdgeStatus.CLICKED.value, EdgeStatus.JOINED.value)
SETTLED_ORDER_STATUSES = (OrderStatus.PAID.value, OrderStatus.COMPLETED.value)
ENDED_ORDER_STATUSES = (OrderStatus.REFUNDED.value, OrderStatus.CLOSED.value)
MAX_ANCESTRY = 10_000
"""How far up the tree the cycle check walks (far beyond any real chain)."""


# --- codes ---------------------------------------------------------------------------------


def code_by_text(session: Session, code: str) -> ReferralCode | None:
    return session.scalars(select(ReferralCode).where(ReferralCode.code == code)).one_or_none()


def general_code(session: Session, *, owner_kind: str, customer_id: int | None,
                 staff_user_id: int | None) -> ReferralCode | None:
    """The owner's code outside any task, if one was made."""
    statement = select(ReferralCode).where(
        ReferralCode.owner_kind == owner_kind, ReferralCode.task_id.is_(None),
        ReferralCode.partner_id.is_(None), ReferralCode.is_active.is_(True))
    if customer_id is not None:
        statement = statement.where(ReferralCode.customer_id == customer_id)
    if staff_user_id is not None:
        statement = statement.where(ReferralCode.staff_user_id == staff_user_id)
    return session.scalars(statement.order_by(ReferralCode.id).limit(1)).first()


def code_counts(session: Session, code_ids: Collection[int]) -> dict[int, tuple[int, int]]:
    """code id → (edges, joined edges)."""
    if not code_ids:
        return {}
    joined = func.sum(case((ReferralEdge.joined_at.is_not(None), 1), else_=0))
    rows = session.execute(
        select(ReferralEdge.code_id, func.count(), joined)
        .where(in_list(ReferralEdge.code_id, code_ids)).group_by(ReferralEdge.code_id))
    return {code_id: (int(total), int(joined or 0)) for code_id, total, joined in rows}


# --- edges ---------------------------------------------------------------------------------


def insert_edge(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the edge unless its referee already has one; the new id or None."""
    table = table_of(ReferralEdge)
    statement = (insert_into(session, ReferralEdge).values(**values)
                 .on_conflict_do_nothing(index_elements=["referee_key"])
                 .returning(table.c.id))
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def edge_by_id(session: Session, edge_id: int) -> ReferralEdge | None:
    return session.get(ReferralEdge, edge_id, populate_existing=True)


def edge_of_referee(session: Session, customer_id: int) -> ReferralEdge | None:
    """The customer's referral as referee (the earliest, after a merge brought two)."""
    return session.scalars(
        select(ReferralEdge).where(ReferralEdge.referee_customer_id == customer_id)
        .order_by(ReferralEdge.clicked_at, ReferralEdge.id).limit(1)
        .execution_options(populate_existing=True)).first()


def edge_by_referee_key(session: Session, referee_key: int) -> ReferralEdge | None:
    return session.scalars(
        select(ReferralEdge).where(ReferralEdge.referee_key == referee_key)
        .execution_options(populate_existing=True)).one_or_none()


def edges_from(session: Session, referrers: Collection[int], limit: int,
               task_id: int | None = None) -> list[ReferralEdge]:
    """Edges whose referrer is one of ``referrers`` (one generation of a tree), oldest first."""
    statement = select(ReferralEdge).where(in_list(ReferralEdge.referrer_customer_id,
                                                   referrers))
    if task_id is not None:
        statement = statement.where(ReferralEdge.task_id == task_id)
    return list(session.scalars(statement.order_by(ReferralEdge.id).limit(limit)))


def ancestors_include(session: Session, *, start_customer_id: int, target_id: int) -> bool:
    """Whether ``target_id`` is ``start_customer_id`` or above it in the referral tree."""
    chain = (select(ReferralEdge.referrer_customer_id.label("customer_id"),
                    literal(1).label("depth"))
             .where(ReferralEdge.referee_customer_id == start_customer_id,
                    ReferralEdge.referrer_customer_id.is_not(None))
             .cte("chain", recursive=True))
    chain = chain.union(
        select(ReferralEdge.referrer_customer_id, chain.c.depth + 1)
        .join(chain, ReferralEdge.referee_customer_id == chain.c.customer_id)
        .where(ReferralEdge.referrer_customer_id.is_not(None), chain.c.depth < MAX_ANCESTRY))
    found = session.execute(
        select(literal(1)).select_from(chain).where(chain.c.customer_id == target_id).limit(1)
    ).first()
    return found is not None or start_customer_id == target_id


def mark_joined(session: Session, edge_id: int, at: datetime) -> bool:
    return _step(session, edge_id, {"joined_at": at, "status": case(
        (ReferralEdge.status == EdgeStatus.CLICKED.value, EdgeStatus.JOINED.value),
        else_=ReferralEdge.status)}, ReferralEdge.joined_at.is_(None),
        ReferralEdge.status != EdgeStatus.REJECTED.value)


def mark_first_order(session: Session, edge_id: int, at: datetime, order_id: int | None) -> bool:
    """The first order (or an earlier one than recorded, when orders arrive out of order)."""
    return _step(session, edge_id, {
        "first_order_at": at, "first_order_id": order_id,
        "status": case((ReferralEdge.status.in_(OPEN_STATUSES), EdgeStatus.FIRST_ORDER.value),
                       else_=ReferralEdge.status)},
        (ReferralEdge.first_order_at.is_(None)) | (ReferralEdge.first_order_at > at),
        ReferralEdge.status != EdgeStatus.REJECTED.value)


def mark_rewarded(session: Session, edge_id: int, at: datetime) -> bool:
    return _step(session, edge_id, {"rewarded_at": at, "status": EdgeStatus.REWARDED.value},
                 ReferralEdge.rewarded_at.is_(None),
                 ReferralEdge.status.in_((EdgeStatus.JOINED.value,
                                          EdgeStatus.FIRST_ORDER.value)))


def mark_rejected(session: Session, edge_id: int, at: datetime, reason: str) -> bool:
    return _step(session, edge_id, {"rejected_at": at, "rejection_reason": reason,
                                    "status": EdgeStatus.REJECTED.value},
                 ReferralEdge.status.not_in((EdgeStatus.REJECTED.value,
                                             EdgeStatus.REWARDED.value)))


def _step(session: Session, edge_id: int, values: dict[str, Any], *conditions: Any) -> bool:
    table = table_of(ReferralEdge)
    moved = session.execute(
        update(ReferralEdge).where(ReferralEdge.id == edge_id, *conditions).values(**values)
        .returning(table.c.id).execution_options(synchronize_session=False)
    ).first()
    return moved is not None


def set_counted_for(session: Session, edge_id: int, participant_id: int | None) -> None:
    session.execute(update(ReferralEdge).where(ReferralEdge.id == edge_id)
                    .values(counted_for_id=participant_id)
                    .execution_options(synchronize_session=False))


# --- first orders --------------------------------------------------------------------------


def first_order_candidates(session: Session, order_ids: Collection[int]
                           ) -> Sequence[tuple[int, int, datetime]]:
    """(edge id, order id, order time) of settled orders among ``order_ids`` placed by a
    referee at or after their click, on edges not rejected, earliest first."""
    moment = func.coalesce(Order.paid_at, Order.completed_at, Order.ordered_at)
    rows = session.execute(
        select(ReferralEdge.id, Order.id, moment)
        .join(Order, Order.customer_id == ReferralEdge.referee_customer_id)
        .where(in_list(Order.id, order_ids), Order.status.in_(SETTLED_ORDER_STATUSES),
               ReferralEdge.status != EdgeStatus.REJECTED.value,
               Order.ordered_at >= ReferralEdge.clicked_at)
        .order_by(moment, Order.id))
    return [(int(edge_id), int(order_id), at) for edge_id, order_id, at in rows]


def unsettled_orders_of_open_referees(session: Session,
                                      order_ids: Collection[int]) -> list[int]:
    """Orders among ``order_ids`` not yet paid whose customer is an open referee."""
    rows = session.scalars(
        select(Order.id).join(ReferralEdge,
                              ReferralEdge.referee_customer_id == Order.customer_id)
        .where(in_list(Order.id, order_ids),
               Order.status.not_in(SETTLED_ORDER_STATUSES + ENDED_ORDER_STATUSES),
               ReferralEdge.status.in_(OPEN_STATUSES)).distinct())
    return [int(order_id) for order_id in rows]


def watch_orders(session: Session, order_ids: Collection[int]) -> None:
    if order_ids:
        session.execute(insert_into(session, WatchedOrder).values(
            [{"order_id": order_id, "watched_since": utcnow()} for order_id in order_ids]
        ).on_conflict_do_nothing())


def watched_orders(session: Session, limit: int) -> list[int]:
    return [int(order_id) for order_id in session.scalars(
        select(WatchedOrder.order_id).order_by(WatchedOrder.order_id).limit(limit))]


def unwatch_orders(session: Session, order_ids: Collection[int]) -> None:
    if order_ids:
        session.execute(WatchedOrder.__table__.delete().where(  # type: ignore[attr-defined]
            in_list(WatchedOrder.order_id, order_ids)))


def order_ids_after(session: Session, position: int, limit: int) -> list[int]:
    return [int(order_id) for order_id in session.scalars(
        select(Order.id).where(Order.id > position).order_by(Order.id).limit(limit))]


def cursor_position(session: Session, name: str) -> int:
    statement = insert_into(session, FissionCursor).values(
        name=name, position=0, updated_at=utcnow()).on_conflict_do_nothing()
    session.execute(statement)
    position = session.scalar(select(FissionCursor.position).where(FissionCursor.name == name))
    return int(position or 0)


def advance_cursor(session: Session, name: str, position: int) -> None:
    session.execute(update(FissionCursor).where(FissionCursor.name == name,
                                                FissionCursor.position < position)
                    .values(position=position, updated_at=utcnow()))
