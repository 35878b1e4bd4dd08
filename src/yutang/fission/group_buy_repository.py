"""Every query of group-buy. Seats, stock and states move by one conditional statement each."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from yutang.fission.group_buy_models import (
    GROUP_BUY_ORDER_SOURCE,
    GroupBuyDeal,
    GroupBuyMember,
    GroupBuyRefund,
    GroupBuyTeam,
    GroupBuyTeamEvent,
    TeamStatus,
)
from yutang.kit.sql import in_list, insert_into, table_of
from yutang.pool.models import Order, OrderItem, OrderStatus, Product

_NO_SYNC = {"synchronize_session": False}
REFUNDABLE_ORDER_STATES = (OrderStatus.PAID.value, OrderStatus.COMPLETED.value)
FULL_ORDER_STATES = (OrderStatus.PAID.value, OrderStatus.COMPLETED.value)


# --- deals -------------------------------------------------------------------------------------


def deal(session: Session, deal_id: int) -> GroupBuyDeal | None:
    return session.scalars(select(GroupBuyDeal).where(GroupBuyDeal.id == deal_id)
                           .execution_options(populate_existing=True)).one_or_none()


def deals(session: Session, *, store_id: int | None = None,
          limit: int = 200) -> Sequence[GroupBuyDeal]:
    statement = select(GroupBuyDeal).order_by(GroupBuyDeal.id.desc()).limit(limit)
    if store_id is not None:
        statement = statement.where(
            (GroupBuyDeal.store_id == store_id) | GroupBuyDeal.store_id.is_(None))
    return session.scalars(statement).all()


def product_id_by_sku(session: Session, sku: str) -> int | None:
    found = session.scalar(select(Product.id).where(Product.sku == sku))
    return None if found is None else int(found)


def sell_one_seat(session: Session, deal_id: int) -> int | None:
    """``sold = sold + 1`` unless the stock is gone; the new count, or None."""
    statement = (update(GroupBuyDeal)
                 .where(GroupBuyDeal.id == deal_id, GroupBuyDeal.sold < GroupBuyDeal.stock)
                 .values(sold=GroupBuyDeal.sold + 1).returning(GroupBuyDeal.sold))
    value = session.execute(statement, execution_options=_NO_SYNC).scalar_one_or_none()
    return None if value is None else int(value)


def release_seats(session: Session, deal_id: int, seats: int) -> None:
    session.execute(update(GroupBuyDeal).where(GroupBuyDeal.id == deal_id)
                    .values(sold=GroupBuyDeal.sold - seats), execution_options=_NO_SYNC)


def team_counts_by_deal(session: Session,
                        deal_ids: Collection[int]) -> dict[int, dict[str, int]]:
    if not deal_ids:
        return {}
    rows = session.execute(
        select(GroupBuyTeam.deal_id, GroupBuyTeam.status, func.count())
        .where(in_list(GroupBuyTeam.deal_id, deal_ids))
        .group_by(GroupBuyTeam.deal_id, GroupBuyTeam.status)).all()
    counts: dict[int, dict[str, int]] = {}
    for deal_id, status, count in rows:
        counts.setdefault(int(deal_id), {})[str(status)] = int(count)
    return counts


# --- teams -------------------------------------------------------------------------------------


def team(session: Session, team_id: int) -> GroupBuyTeam | None:
    return session.scalars(select(GroupBuyTeam).where(GroupBuyTeam.id == team_id)
                           .execution_options(populate_existing=True)).one_or_none()


def teams_of_deal(session: Session, deal_id: int, *, status: str | None = None,
                  limit: int = 200, offset: int = 0) -> Sequence[GroupBuyTeam]:
    statement = (select(GroupBuyTeam).where(GroupBuyTeam.deal_id == deal_id)
                 .order_by(GroupBuyTeam.id.desc()).limit(limit).offset(offset))
    if status is not None:
        statement = statement.where(GroupBuyTeam.status == status)
    return session.scalars(statement).all()


def take_seat(session: Session, team_id: int, now: datetime) -> int | None:
    """``filled = filled + 1`` if the team is open, has room and has time left; the seat
    number taken, or None."""
    statement = (update(GroupBuyTeam)
                 .where(GroupBuyTeam.id == team_id,
                        GroupBuyTeam.status == TeamStatus.OPEN.value,
                        GroupBuyTeam.filled < GroupBuyTeam.team_size,
                        GroupBuyTeam.expires_at > now)
                 .values(filled=GroupBuyTeam.filled + 1).returning(GroupBuyTeam.filled))
    value = session.execute(statement, execution_options=_NO_SYNC).scalar_one_or_none()
    return None if value is None else int(value)


def succeed_if_full(session: Session, team_id: int, now: datetime) -> bool:
    statement = (update(GroupBuyTeam)
                 .where(GroupBuyTeam.id == team_id,
                        GroupBuyTeam.status == TeamStatus.OPEN.value,
                        GroupBuyTeam.filled == GroupBuyTeam.team_size)
                 .values(status=TeamStatus.SUCCEEDED.value, succeeded_at=now)
                 .returning(GroupBuyTeam.id))
    return session.execute(statement, execution_options=_NO_SYNC).first() is not None


def overdue_team_ids(session: Session, now: datetime, limit: int) -> list[int]:
    return [int(value) for value in session.scalars(
        select(GroupBuyTeam.id).where(GroupBuyTeam.status == TeamStatus.OPEN.value,
                                      GroupBuyTeam.expires_at <= now)
        .order_by(GroupBuyTeam.id).limit(limit))]


def fail_if_overdue(session: Session, team_id: int, now: datetime) -> bool:
    """``open → failed`` if the time ran out (a team that just filled stays succeeded)."""
    statement = (update(GroupBuyTeam)
                 .where(GroupBuyTeam.id == team_id,
                        GroupBuyTeam.status == TeamStatus.OPEN.value,
                        GroupBuyTeam.expires_at <= now)
                 .values(status=TeamStatus.FAILED.value, failed_at=now)
                 .returning(GroupBuyTeam.id))
    return session.execute(statement, execution_options=_NO_SYNC).first() is not None


# --- members, orders, refunds ------------------------------------------------------------------


def member_exists(session: Session, team_id: int, customer_id: int) -> bool:
    found = session.scalar(select(GroupBuyMember.id).where(
        GroupBuyMember.team_id == team_id,
        (GroupBuyMember.customer_id == customer_id) | (GroupBuyMember.member_key == customer_id),
    ).limit(1))
    return found is not None


def insert_member(session: Session, row: dict[str, Any]) -> int | None:
    """The new member's id, or None if the customer already holds a seat of the team."""
    statement = insert_into(session, GroupBuyMember).values(**row).on_conflict_do_nothing(
    ).returning(table_of(GroupBuyMember).c.id)
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def members_of(session: Session, team_ids: Collection[int]
               ) -> Sequence[tuple[GroupBuyMember, datetime | None]]:
    """Members of the teams by seat, with the time their order was refunded (if it was)."""
    if not team_ids:
        return []
    rows = session.execute(
        select(GroupBuyMember, GroupBuyRefund.refunded_at)
        .outerjoin(GroupBuyRefund, GroupBuyRefund.member_id == GroupBuyMember.id)
        .where(in_list(GroupBuyMember.team_id, team_ids))
        .order_by(GroupBuyMember.team_id, GroupBuyMember.seat)).all()
    return [(member, refunded_at) for member, refunded_at in rows]


def add_bait_order(session: Session, *, external_order_id: str, customer_id: int,
                   store_id: int | None, sku: str, product_id: int | None, price_fen: int,
                   at: datetime) -> Order:
    order = Order(source=GROUP_BUY_ORDER_SOURCE, external_order_id=external_order_id,
                  customer_id=customer_id, store_id=store_id, status=OrderStatus.PAID.value,
                  total_fen=price_fen, discount_fen=0, paid_fen=price_fen, ordered_at=at,
                  paid_at=at)
    session.add(order)
    session.flush()
    session.add(OrderItem(order_id=order.id, product_id=product_id, sku=sku, quantity=1,
                          unit_price_fen=price_fen, amount_fen=price_fen))
    return order


def unrefunded_members_of_failed_teams(
        session: Session, limit: int) -> Sequence[tuple[int, int, int, int, int]]:
    """``(member id, team id, deal id, order id, paid fen)`` of members of failed teams whose
    refund is not recorded yet."""
    rows = session.execute(
        select(GroupBuyMember.id, GroupBuyMember.team_id, GroupBuyTeam.deal_id,
               GroupBuyMember.order_id, Order.paid_fen)
        .join(GroupBuyTeam, GroupBuyTeam.id == GroupBuyMember.team_id)
        .join(Order, Order.id == GroupBuyMember.order_id)
        .outerjoin(GroupBuyRefund, GroupBuyRefund.member_id == GroupBuyMember.id)
        .where(GroupBuyTeam.status == TeamStatus.FAILED.value, GroupBuyRefund.id.is_(None))
        .order_by(GroupBuyMember.id).limit(limit)).all()
    return [(int(a), int(b), int(c), int(d), int(e)) for a, b, c, d, e in rows]


def insert_refund(session: Session, row: dict[str, Any]) -> int | None:
    """The refund's id, or None if the member's refund was recorded already."""
    statement = insert_into(session, GroupBuyRefund).values(**row).on_conflict_do_nothing(
    ).returning(table_of(GroupBuyRefund).c.id)
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def refund_order(session: Session, order_id: int, now: datetime) -> bool:
    """Move the order to refunded (from paid or completed), stamping ``refunded_at``."""
    statement = (update(Order)
                 .where(Order.id == order_id, Order.status.in_(REFUNDABLE_ORDER_STATES))
                 .values(status=OrderStatus.REFUNDED.value, refunded_at=now)
                 .returning(Order.id))
    return session.execute(statement, execution_options=_NO_SYNC).first() is not None


def add_team_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert_into(session, GroupBuyTeamEvent), list(rows))


def team_events(session: Session, team_id: int) -> Sequence[GroupBuyTeamEvent]:
    return session.scalars(select(GroupBuyTeamEvent).where(GroupBuyTeamEvent.team_id == team_id)
                           .order_by(GroupBuyTeamEvent.id)).all()


# --- conversion --------------------------------------------------------------------------------


def bait_orders_of_deal(session: Session, deal_id: int
                        ) -> Sequence[tuple[int, int, datetime]]:
    """``(customer id, order id, ordered at)`` of the bait orders of the deal's succeeded
    teams, oldest first."""
    rows = session.execute(
        select(GroupBuyMember.customer_id, Order.id, Order.ordered_at)
        .join(GroupBuyTeam, GroupBuyTeam.id == GroupBuyMember.team_id)
        .join(Order, Order.id == GroupBuyMember.order_id)
        .where(GroupBuyTeam.deal_id == deal_id,
               GroupBuyTeam.status == TeamStatus.SUCCEEDED.value)
        .order_by(Order.ordered_at, Order.id)).all()
    return [(int(customer), int(order), at) for customer, order, at in rows]


def full_orders_of(session: Session, customer_ids: Collection[int], *, sku: str,
                   list_price_fen: int, threshold_fen: int | None
                   ) -> Sequence[tuple[int, int, datetime]]:
    """``(customer id, order id, ordered at)`` of the customers' paid or completed orders
    outside group-buy that bought ``sku`` at or above its list price, or paid at least
    ``threshold_fen``; oldest first."""
    if not customer_ids:
        return []
    with_product = (select(OrderItem.order_id)
                    .where(OrderItem.sku == sku, OrderItem.unit_price_fen >= list_price_fen))
    full: ColumnElement[bool] = Order.id.in_(with_product)
    if threshold_fen is not None:
        full = full | (Order.paid_fen >= threshold_fen)
    rows = session.execute(
        select(Order.customer_id, Order.id, Order.ordered_at)
        .where(in_list(Order.customer_id, customer_ids),
               Order.source != GROUP_BUY_ORDER_SOURCE,
               Order.status.in_(FULL_ORDER_STATES), full)
        .order_by(Order.ordered_at, Order.id)).all()
    return [(int(customer or 0), int(order), at) for customer, order, at in rows]


def leaders_by_store(session: Session, start: datetime, end: datetime
                     ) -> dict[int | None, tuple[int, int]]:
    """Per store: distinct leaders who opened a team in ``[start, end)``, and how many of
    their teams succeeded."""
    rows = session.execute(
        select(GroupBuyTeam.store_id,
               func.count(func.distinct(GroupBuyTeam.leader_customer_id)),
               func.count().filter(GroupBuyTeam.status == TeamStatus.SUCCEEDED.value))
        .where(and_(GroupBuyTeam.opened_at >= start, GroupBuyTeam.opened_at < end))
        .group_by(GroupBuyTeam.store_id)).all()
    return {None if store is None else int(store): (int(leaders), int(succeeded))
            for store, leaders, succeeded in rows}


def bait_buyers_by_store(session: Session, start: datetime, end: datetime
                         ) -> Sequence[tuple[int | None, int, int, datetime, str, int,
                                             int | None]]:
    """``(store id, customer id, deal id, bait ordered at, sku, list price, threshold)`` of
    the bait orders of succeeded teams placed in ``[start, end)``."""
    rows = session.execute(
        select(GroupBuyTeam.store_id, GroupBuyMember.customer_id, GroupBuyDeal.id,
               Order.ordered_at, GroupBuyDeal.product_sku, GroupBuyDeal.list_price_fen,
               GroupBuyDeal.full_order_threshold_fen)
        .join(GroupBuyTeam, GroupBuyTeam.id == GroupBuyMember.team_id)
        .join(GroupBuyDeal, GroupBuyDeal.id == GroupBuyTeam.deal_id)
        .join(Order, Order.id == GroupBuyMember.order_id)
        .where(GroupBuyTeam.status == TeamStatus.SUCCEEDED.value,
               Order.ordered_at >= start, Order.ordered_at < end)).all()
    return [(None if store is None else int(store), int(customer), int(deal_id), at, str(sku),
             int(price), None if threshold is None else int(threshold))
            for store, customer, deal_id, at, sku, price, threshold in rows]
