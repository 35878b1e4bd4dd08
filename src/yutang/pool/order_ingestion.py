"""Orders from any source: idempotent by ``(source, external_order_id)``; later calls move an
order forward (created → paid → completed, or refunded/closed), keeping each transition's time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import ensure_utc
from yutang.kit.errors import DomainError
from yutang.kit.signals import emit_after_commit
from yutang.org import service as org_service
from yutang.pool import channels, oneid, repository
from yutang.pool.errors import BatchTooLarge
from yutang.pool.ingest_schemas import MAX_ORDERS_PER_CALL, OrderBatchResult, OrderIn, Rejection
from yutang.pool.ingestion import (
    PendingRecord,
    RecordRejected,
    identifiers_from,
    resolve_records,
    validation_message,
)
from yutang.pool.models import Order, OrderItem, OrderStatus
from yutang.pool.oneid import DEFAULT_POLICY, OneIdPolicy
from yutang.pool.signals import ORDERS_CHANGED

STAGE = {
    OrderStatus.CREATED: 0, OrderStatus.PAID: 1, OrderStatus.COMPLETED: 2,
    OrderStatus.REFUNDED: 3, OrderStatus.CLOSED: 3,
}
ALLOWED_FROM = {
    OrderStatus.PAID: {OrderStatus.CREATED},
    OrderStatus.COMPLETED: {OrderStatus.CREATED, OrderStatus.PAID},
    OrderStatus.REFUNDED: {OrderStatus.PAID, OrderStatus.COMPLETED},
    OrderStatus.CLOSED: {OrderStatus.CREATED, OrderStatus.PAID},
}
TIME_FIELDS = ("paid_at", "completed_at", "refunded_at", "closed_at")
STATUS_TIME = {
    OrderStatus.PAID: "paid_at", OrderStatus.COMPLETED: "completed_at",
    OrderStatus.REFUNDED: "refunded_at", OrderStatus.CLOSED: "closed_at",
}


@dataclass
class PendingOrder(PendingRecord):
    order: OrderIn | None = None
    channel_id: int | None = None


def ingest_orders(
    session: Session,
    *,
    actor: Principal,
    orders: Sequence[Mapping[str, Any]],
    policy: OneIdPolicy = DEFAULT_POLICY,
) -> OrderBatchResult:
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    if len(orders) > MAX_ORDERS_PER_CALL:
        raise BatchTooLarge(
            f"at most {MAX_ORDERS_PER_CALL} orders per call, got {len(orders)}",
            limit=MAX_ORDERS_PER_CALL, received=len(orders),
        )
    stores = {store.code: store.id for store in org_service.list_stores(session)}
    channels = {channel.code: channel.id for channel in repository.all_channels(session)}
    rejected: list[Rejection] = []
    latest: dict[str, PendingOrder] = {}
    duplicates = 0
    for index, raw in enumerate(orders):
        try:
            item = _validate_order(index, raw, stores, channels, policy, actor)
        except RecordRejected as rejection:
            rejected.append(rejection.rejection)
            continue
        if item.reference in latest:
            duplicates += 1  # the later report of one order in one batch wins
        latest[item.reference] = item
    pending = sorted(latest.values(), key=lambda item: item.index)
    existing = _existing_orders(session, pending)
    new = [item for item in pending if item.reference not in existing]
    resolve_records(session, new, actor, policy)
    accepted = updated = 0
    touched: list[int] = []
    for item in pending:
        assert item.order is not None
        current = existing.get(item.reference)
        if current is None:
            touched.append(_create(session, item))
            accepted += 1
            continue
        try:
            changed = _advance(current, item.order)
        except DomainError as error:
            rejected.append(Rejection(index=item.index, code=error.code, message=error.message))
            continue
        if changed:
            updated += 1
            touched.append(current.id)
        else:
            duplicates += 1
    session.flush()
    if touched:
        emit_after_commit(session, ORDERS_CHANGED, touched)
    rejected.sort(key=lambda rejection: rejection.index)
    return OrderBatchResult(accepted=accepted, updated=updated, duplicates=duplicates,
                            rejected=rejected)


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


def _validate_order(index: int, raw: Mapping[str, Any], stores: Mapping[str, int],
                    channels: Mapping[str, int], policy: OneIdPolicy,
                    actor: Principal) -> PendingOrder:
    if not isinstance(raw, Mapping):
        raise RecordRejected(index, "invalid_order", "an order must be a JSON object")
    try:
        order = OrderIn.model_validate(raw)
    except ValidationError as error:
        raise RecordRejected(index, "invalid_order", validation_message(error)) from error
    item_total = sum(item.amount_fen or 0 for item in order.items)
    if order.items and order.total_fen is not None and order.total_fen != item_total:
        raise RecordRejected(index, "order_total_mismatch",
                             f"items add up to {item_total} fen, total_fen is {order.total_fen}")
    total = order.total_fen if order.total_fen is not None else item_total
    if order.discount_fen > total:
        raise RecordRejected(index, "invalid_order", "discount_fen exceeds the total")
    order.total_fen = total
    if order.paid_fen is None:
        order.paid_fen = total - order.discount_fen
    try:
        prepared = oneid.prepare(identifiers_from(order.identities), policy)
    except DomainError as error:
        raise RecordRejected(index, error.code, error.message) from error
    store_id = None
    if order.store is not None:
        store_id = stores.get(order.store)
        if store_id is None or (actor.is_store_scoped and store_id != actor.store_id):
            raise RecordRejected(index, "store_not_found", f"no store with code {order.store!r}")
    channel_id = None
    if order.channel is not None:
        channel_id = channels.get(order.channel)
        if channel_id is None:
            raise RecordRejected(index, "channel_not_found",
                                 f"no channel with code {order.channel!r}")
    return PendingOrder(
        index=index, reference=f"{order.source}:{order.external_order_id}", trigger="order",
        seen_at=order.ordered_at, prepared=prepared,
        store_id=store_id if store_id is not None else actor.store_id,
        order=order, channel_id=channel_id,
    )


def _existing_orders(session: Session, pending: Sequence[PendingOrder]) -> dict[str, Order]:
    keys = [(item.order.source, item.order.external_order_id) for item in pending if item.order]
    if not keys:
        return {}
    rows = session.scalars(
        select(Order).where(tuple_(Order.source, Order.external_order_id).in_(keys))
    ).all()
    return {f"{row.source}:{row.external_order_id}": row for row in rows}


def _times(order: OrderIn) -> dict[str, datetime | None]:
    """Transition times; the time of the status reported, if missing, is the order time."""
    times = {name: getattr(order, name) for name in TIME_FIELDS}
    status = OrderStatus(order.status)
    if status in STATUS_TIME and times[STATUS_TIME[status]] is None:
        times[STATUS_TIME[status]] = order.ordered_at
    if status is OrderStatus.COMPLETED and times["paid_at"] is None:
        times["paid_at"] = times["completed_at"]
    return {name: ensure_utc(value) if value else None for name, value in times.items()}


def _create(session: Session, item: PendingOrder) -> int:
    order = item.order
    assert order is not None
    row = Order(
        source=order.source, external_order_id=order.external_order_id,
        customer_id=item.customer_id, store_id=item.store_id, channel_id=item.channel_id,
        status=order.status, total_fen=order.total_fen or 0, discount_fen=order.discount_fen,
        paid_fen=order.paid_fen or 0, ordered_at=ensure_utc(order.ordered_at),
        resolved_value_id=item.resolved_value_id, **_times(order),
    )
    session.add(row)
    session.flush()
    channels.attribute_order(session, row)
    session.add_all(
        OrderItem(order_id=row.id, sku=line.sku, quantity=line.quantity,
                  unit_price_fen=line.unit_price_fen, amount_fen=line.amount_fen or 0)
        for line in order.items
    )
    return row.id


def _advance(current: Order, reported: OrderIn) -> bool:
    """Move ``current`` forward to what was reported and fill transition times it lacks.

    A report that is behind the order (a late "paid" after "completed") only adds the times
    it states explicitly; a report that moves the order on also brings its default time.
    """
    changed = False
    old, new = OrderStatus(current.status), OrderStatus(reported.status)
    moves_on = new is not old and STAGE[new] >= STAGE[old]
    if moves_on:
        if old not in ALLOWED_FROM.get(new, set()):
            raise InvalidTransition(
                f"order {current.source}:{current.external_order_id} cannot go from "
                f"{old.value} to {new.value}", current=old.value, reported=new.value,
            )
        current.status = new.value
        changed = True
    times = _times(reported) if moves_on else {
        name: ensure_utc(value) if value else None
        for name, value in ((name, getattr(reported, name)) for name in TIME_FIELDS)
    }
    for name, value in times.items():
        if value is not None and getattr(current, name) is None:
            setattr(current, name, value)
            changed = True
    return changed
