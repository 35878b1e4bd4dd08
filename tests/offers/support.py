"""Shared builders of the offers tests: a shop with customers and orders, and API payloads."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import make_api_key, make_customer, make_store
from yutang.access.roles import Role
from yutang.kit.clock import utcnow
from yutang.offers.models import Coupon, CouponTemplate, LedgerAccount, LedgerEntry
from yutang.org.models import Store
from yutang.pool.models import Customer, Order, OrderItem, OrderStatus

_keys = itertools.count()


def key(prefix: str = "k") -> str:
    """A fresh idempotency key."""
    return f"{prefix}-{next(_keys)}"


def make_customers(session: Session, store: Store | None, count: int,
                   prefix: str = "1380000") -> list[Customer]:
    return [make_customer(session, store=store, name=f"顾客{number}",
                          phone=f"{prefix}{number:04d}") for number in range(count)]


def make_order(session: Session, customer: Customer, *, total_fen: int = 10_000,
               items: list[tuple[str, int, int]] | None = None, store: Store | None = None,
               status: OrderStatus = OrderStatus.PAID, external_order_id: str | None = None,
               ordered_at: datetime | None = None) -> Order:
    """An order of the customer; ``items``: (sku, quantity, unit price)."""
    lines = items or [("SKU-1", 1, total_fen)]
    total = sum(quantity * price for _, quantity, price in lines)
    moment = ordered_at or utcnow()
    order = Order(source="pos", external_order_id=external_order_id or key("order"),
                  customer_id=customer.id, store_id=store.id if store else customer.store_id,
                  status=status.value, total_fen=total, paid_fen=total, ordered_at=moment,
                  paid_at=moment)
    session.add(order)
    session.flush()
    session.add_all(OrderItem(order_id=order.id, sku=sku, quantity=quantity,
                              unit_price_fen=price, amount_fen=quantity * price)
                    for sku, quantity, price in lines)
    session.flush()
    return order


def threshold_template(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"idempotency_key": key("tpl"), "name": "满100减20",
                            "kind": "threshold", "threshold_fen": 10_000,
                            "discount_fen": 2_000, "stock": 100, "valid_days": 30}
    body.update(overrides)
    return body


def seed(session: Session, customers: int = 3, role: Role = Role.HQ_OPERATOR
         ) -> tuple[Store, str, list[Customer]]:
    store = make_store(session, key("S").replace("-", ""))
    api_key = make_api_key(session, role, store if role in (Role.STAFF,
                                                             Role.STORE_MANAGER) else None)
    return store, api_key, make_customers(session, store, customers,
                                          prefix=f"139{next(_keys) % 10000:04d}")


def ledger_invariants(session: Session) -> None:
    """Every transaction sums to zero per unit; customer balances = sums of entries ≥ 0."""
    from yutang.offers import ledger_repository

    assert ledger_repository.unbalanced_transactions(session) == []
    sums = ledger_repository.account_entry_sums(session)
    for account in session.scalars(select(LedgerAccount)):
        if account.customer_id is not None:
            session.refresh(account)
            assert account.balance == sums.get(account.id, 0), account.account_key
            assert account.balance is not None and account.balance >= 0
    total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))
    assert total == 0


def issued_within_stock(session: Session) -> None:
    for template in session.scalars(select(CouponTemplate)):
        session.refresh(template)
        coupons = session.scalar(select(func.count()).select_from(Coupon).where(
            Coupon.template_id == template.id))
        assert template.issued == coupons
        assert template.stock is None or template.issued <= template.stock
