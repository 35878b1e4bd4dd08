"""Customers and orders as offers sees them: merged customers followed to the survivor,
both read only if the caller's store may see them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.offers import repository
from yutang.offers.errors import OrderNotFound
from yutang.pool import service as pool_service
from yutang.pool.errors import CustomerNotFound
from yutang.pool.models import Customer, Order


def resolve_customer(session: Session, *, actor: Principal, customer_id: int) -> Customer:
    """The customer behind ``customer_id`` — the survivor if it was merged — if ``actor``
    may see them (``customer_not_found`` otherwise, as the pool does)."""
    try:
        return pool_service.get_customer(session, principal=actor, customer_id=customer_id)
    except CustomerNotFound:
        row = repository.customer_row(session, customer_id)
        if row is None or row.merged_into_id is None:
            raise
    return pool_service.get_customer(session, principal=actor, customer_id=row.merged_into_id)


def resolve_order(
    session: Session,
    *,
    actor: Principal,
    order_id: int | None,
    source: str | None = None,
    external_order_id: str | None = None,
    lock: bool = False,
) -> Order | None:
    """The order by yutang's id (it must exist) or by the merchant's order number (None when
    yutang does not know it); ``lock`` takes its row lock on PostgreSQL."""
    if order_id is not None:
        order = repository.order_by_id(session, order_id, lock=lock)
        if order is None or not _visible(actor, order):
            raise OrderNotFound(f"no order {order_id}", order_id=order_id)
        return order
    assert external_order_id is not None
    order = repository.order_by_reference(session, source, external_order_id, lock=lock)
    if order is not None and not _visible(actor, order):
        raise OrderNotFound(f"no order {external_order_id}", external_order_id=external_order_id)
    return order


def _visible(actor: Principal, order: Order) -> bool:
    return visible_to(actor, order.store_id)


def visible_to(actor: Principal, store_id: int | None) -> bool:
    """Whether ``actor`` may see an order of that store (None: of no store)."""
    return not actor.is_store_scoped or store_id in (None, actor.store_id)
