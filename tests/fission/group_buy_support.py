"""Shared builders of the group-buy and bargain tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import make_customer, make_store
from yutang.access.roles import Principal
from yutang.fission import group_buy
from yutang.fission.group_buy_models import GroupBuyDeal, GroupBuyMember, GroupBuyTeam
from yutang.fission.group_buy_schemas import GroupBuyDealCreate
from yutang.org.models import Store
from yutang.pool.models import Customer, Order, OrderItem, OrderStatus

SYSTEM = Principal.system("tests")
_numbers = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_numbers)}"


def make_shop(session: Session, customers: int) -> tuple[Store, list[Customer]]:
    store = make_store(session, unique("G"))
    prefix = f"137{next(_numbers) % 10_000:04d}"
    return store, [make_customer(session, store=store, name=f"顾客{number}",
                                 phone=f"{prefix}{number:04d}") for number in range(customers)]


def deal_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "99元拼团体验", "product_sku": "PHOTO-SET",
                            "bait_price_fen": 9_900, "list_price_fen": 150_000,
                            "team_size": 3, "time_limit_minutes": 60, "stock": 100}
    body.update(overrides)
    return body


def make_deal(session: Session, **overrides: Any) -> GroupBuyDeal:
    return group_buy.create_deal(session, actor=SYSTEM,
                                 data=GroupBuyDealCreate(**deal_payload(**overrides)))


def full_price_order(session: Session, customer: Customer, *, at: datetime, sku: str,
                     unit_price_fen: int, status: OrderStatus = OrderStatus.PAID,
                     source: str = "pos") -> Order:
    order = Order(source=source, external_order_id=unique("full-"), customer_id=customer.id,
                  store_id=customer.store_id, status=status.value, total_fen=unit_price_fen,
                  paid_fen=unit_price_fen, ordered_at=at, paid_at=at)
    session.add(order)
    session.flush()
    session.add(OrderItem(order_id=order.id, sku=sku, quantity=1,
                          unit_price_fen=unit_price_fen, amount_fen=unit_price_fen))
    session.flush()
    return order


def seat_invariants(session: Session) -> None:
    """Every team's ``filled`` equals its members, never above its size; every deal's
    ``sold`` equals the seats of its open and succeeded teams, never above its stock."""
    for team in session.scalars(select(GroupBuyTeam)):
        session.refresh(team)
        members = session.scalar(select(func.count()).select_from(GroupBuyMember).where(
            GroupBuyMember.team_id == team.id))
        assert team.filled == members <= team.team_size, team.id
    for deal in session.scalars(select(GroupBuyDeal)):
        session.refresh(deal)
        held = session.scalar(select(func.count()).select_from(GroupBuyMember).join(
            GroupBuyTeam, GroupBuyTeam.id == GroupBuyMember.team_id).where(
            GroupBuyTeam.deal_id == deal.id, GroupBuyTeam.status.in_(("open", "succeeded"))))
        assert deal.sold == held <= deal.stock, deal.id
