"""The queries of a coupon redemption, the hottest write of offers: statements built once
(``@cache``), Core rows instead of ORM objects, as few round trips as the rules allow.

1. ``redemption_view``: the order (its row locked on PostgreSQL), the coupon, its template
   and what coupons already redeemed on the order take, in one statement.
2. ``order_lines``: the order's lines, only for coupons that need them (SKU scope, add-on,
   bundle).
3. ``redeem_and_record``: the conditional ``available → redeemed`` UPDATE, the coupon's
   timeline row and the idempotency record's outcome — one statement on PostgreSQL
   (data-modifying CTEs), three on SQLite (in-process, under the writer's lock).

The view is read in the statement that waits for the order's lock, so on PostgreSQL what it
says of *other* rows (the coupon, the coupons on the order) may predate a redemption that
held the lock meanwhile. The UPDATE therefore re-checks, on fresh data, everything the
benefit was computed from: the coupon still available and valid, the same amount already
taken off the order, and no coupon on the order that stacking forbids. No row back: the
caller reads the view again (fresh now that the lock is held) and decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Executable,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from yutang.kit.db import UTCDateTime
from yutang.kit.sql import table_of
from yutang.offers.models import (
    Coupon,
    CouponEvent,
    CouponEventKind,
    CouponStatus,
    CouponTemplate,
    IdempotencyRecord,
    Stacking,
)
from yutang.pool.models import Order, OrderItem

ORDER_COLUMNS = ("id", "customer_id", "store_id", "channel_id", "status", "total_fen")
COUPON_COLUMNS = ("id", "code", "template_id", "customer_id", "status", "source", "valid_from",
                  "valid_until", "claimed_at", "order_id", "discount_fen", "redeemed_at")
TEMPLATE_COLUMNS = ("name", "kind", "threshold_fen", "discount_fen", "rate_bp", "cap_fen",
                    "gift_sku", "add_on_sku", "add_on_price_fen", "bundle_skus",
                    "bundle_price_fen", "scope", "stacking")


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    customer_id: int | None
    store_id: int | None
    channel_id: int | None
    status: str
    total_fen: int


@dataclass(frozen=True, slots=True)
class CouponView:
    id: int
    code: str
    template_id: int
    customer_id: int
    status: str
    source: str
    valid_from: datetime
    valid_until: datetime | None
    claimed_at: datetime
    order_id: int | None
    discount_fen: int
    redeemed_at: datetime | None


@dataclass(frozen=True, slots=True)
class TemplateView:
    name: str
    kind: str
    threshold_fen: int
    discount_fen: int
    rate_bp: int | None
    cap_fen: int | None
    gift_sku: str | None
    add_on_sku: str | None
    add_on_price_fen: int | None
    bundle_skus: list[str]
    bundle_price_fen: int | None
    scope: dict[str, Any]
    stacking: str


@dataclass(frozen=True, slots=True)
class RedemptionView:
    """The order; its coupon and template (None: no coupon with that code); and the coupons
    already redeemed on the order: how many, what they took off, whether one is exclusive."""

    order: OrderView
    coupon: CouponView | None
    template: TemplateView | None
    redeemed_on_order: int
    discounted_on_order_fen: int
    exclusive_on_order: bool


def _on_order(order_id: Any, alias: str) -> tuple[Any, Any, Any]:
    """The coupons on the order (an alias of ``coupon``), the condition that finds them by
    the order alone, and the one that keeps the redeemed ones — for an aggregate's FILTER:
    were ``status`` in the WHERE, statistics taken while few coupons were redeemed could
    make the planner walk every redeemed coupon by (status, valid_until) instead of the
    order's one or two by (order_id, status)."""
    other = table_of(Coupon).alias(alias)
    return (other, other.c.order_id == order_id,
            other.c.status == CouponStatus.REDEEMED.value)


def _count_on(order_id: Any) -> Any:
    _, on_order, redeemed = _on_order(order_id, "counted_coupon")
    return select(func.count().filter(redeemed)).where(on_order).scalar_subquery()


def _discounted_on(order_id: Any) -> Any:
    other, on_order, redeemed = _on_order(order_id, "discounted_coupon")
    return (select(func.coalesce(func.sum(other.c.discount_fen).filter(redeemed), 0))
            .where(on_order).scalar_subquery())


def _exclusive_on(order_id: Any) -> Any:
    other, on_order, redeemed = _on_order(order_id, "exclusive_coupon")
    other_template = table_of(CouponTemplate).alias("exclusive_template")
    exclusive = and_(redeemed, other_template.c.stacking == Stacking.EXCLUSIVE.value)
    return (select(func.count().filter(exclusive))
            .select_from(other.join(other_template, other_template.c.id == other.c.template_id))
            .where(on_order).scalar_subquery() > 0)


def _any_on(order_id: Any) -> Any:
    return _count_on(order_id) > 0


@cache
def _view_statement(by_reference: bool, with_source: bool) -> Select[Any]:
    order, coupon, template = table_of(Order), table_of(Coupon), table_of(CouponTemplate)
    statement = (
        select(*(order.c[name].label(f"order_{name}") for name in ORDER_COLUMNS),
               *(coupon.c[name].label(f"coupon_{name}") for name in COUPON_COLUMNS),
               *(template.c[name].label(f"template_{name}") for name in TEMPLATE_COLUMNS),
               _count_on(order.c.id).label("redeemed_on_order"),
               _discounted_on(order.c.id).label("discounted_on_order"),
               _exclusive_on(order.c.id).label("exclusive_on_order"))
        .select_from(order.outerjoin(coupon, coupon.c.code == bindparam("code", type_=String()))
                     .outerjoin(template, template.c.id == coupon.c.template_id))
        .with_for_update(of=order)
    )
    if not by_reference:
        return statement.where(order.c.id == bindparam("order_id", type_=Integer()))
    statement = statement.where(
        order.c.external_order_id == bindparam("external_order_id", type_=String()))
    if with_source:
        statement = statement.where(order.c.source == bindparam("source", type_=String()))
    return statement.order_by(order.c.id).limit(2)  # two: the number names no single order


def redemption_view(session: Session, *, code: str, order_id: int | None, source: str | None,
                    external_order_id: str | None) -> RedemptionView | None:
    """The view of redeeming ``code`` on the order (by yutang's id, or the merchant's order
    number: None when no single order has it); the order's row is locked (PostgreSQL)."""
    if order_id is not None:
        statement = _view_statement(False, False)
        parameters: dict[str, Any] = {"code": code, "order_id": order_id}
    else:
        statement = _view_statement(True, source is not None)
        parameters = {"code": code, "external_order_id": external_order_id, "source": source}
    rows = session.execute(statement, parameters).all()
    if len(rows) != 1:
        return None
    row = rows[0]._mapping
    coupon = (None if row["coupon_id"] is None else
              CouponView(*(row[f"coupon_{name}"] for name in COUPON_COLUMNS)))
    template = (None if coupon is None else
                TemplateView(*(row[f"template_{name}"] for name in TEMPLATE_COLUMNS)))
    return RedemptionView(
        order=OrderView(*(row[f"order_{name}"] for name in ORDER_COLUMNS)),
        coupon=coupon, template=template,
        redeemed_on_order=int(row["redeemed_on_order"]),
        discounted_on_order_fen=int(row["discounted_on_order"]),
        exclusive_on_order=bool(row["exclusive_on_order"]),
    )


@cache
def _lines_statement() -> Select[Any]:
    item = table_of(OrderItem)
    return (select(item.c.sku, item.c.quantity, item.c.unit_price_fen, item.c.amount_fen)
            .where(item.c.order_id == bindparam("order_id", type_=Integer()))
            .order_by(item.c.id))


def order_lines(session: Session, order_id: int) -> list[tuple[str, int, int, int]]:
    """(sku, quantity, unit price, amount) of the order's lines."""
    return [(str(sku), int(quantity), int(unit_price), int(amount)) for
            sku, quantity, unit_price, amount in
            session.execute(_lines_statement(), {"order_id": order_id})]


# --- the write -----------------------------------------------------------------------------


_ORDER_ID = "redemption_order_id"
"""Parameter names differ from every column name of the tables written (SQLAlchemy would
otherwise take them for values to set)."""


def _redeem_update(exclusive: bool) -> Any:
    """``available → redeemed`` if the coupon still is, the order's coupons took off what
    the benefit assumed, and stacking allows it (an exclusive coupon: no other coupon on the
    order; a stackable one: no exclusive one); RETURNING the coupon's id."""
    coupon = table_of(Coupon)
    order_id = bindparam(_ORDER_ID, type_=Integer())
    now = bindparam("redemption_moment", type_=UTCDateTime())
    return (
        update(coupon)
        .where(coupon.c.id == bindparam("redemption_coupon_id", type_=Integer()),
               coupon.c.status == CouponStatus.AVAILABLE.value,
               or_(coupon.c.valid_until.is_(None), coupon.c.valid_until > now),
               _discounted_on(order_id) == bindparam("seen_discounted_fen", type_=Integer()),
               ~(_any_on(order_id) if exclusive else _exclusive_on(order_id)))
        .values(status=CouponStatus.REDEEMED.value, order_id=order_id,
                discount_fen=bindparam("redemption_discount_fen", type_=Integer()),
                redeemed_at=now)
        .returning(coupon.c.id)
    )


def _event_insert(coupon_id: Any) -> Any:
    """The coupon's ``redeemed`` timeline row."""
    values = select(coupon_id, literal(CouponEventKind.REDEEMED.value),
                    bindparam("redemption_moment", type_=UTCDateTime()),
                    bindparam(_ORDER_ID, type_=Integer()),
                    bindparam("redemption_discount_fen", type_=Integer()),
                    bindparam("event_actor", type_=String()),
                    bindparam("event_details", type_=JSON()))
    return insert(table_of(CouponEvent)).from_select(
        ("coupon_id", "kind", "at", "order_id", "discount_fen", "actor_name", "details"),
        values)


def _outcome_update() -> Any:
    record = table_of(IdempotencyRecord)
    return (update(record)
            .where(record.c.id == bindparam("outcome_record_id", type_=Integer()))
            .values(status_code=bindparam("outcome_status", type_=Integer()),
                    response=bindparam("outcome_body", type_=JSON())))


@cache
def _postgresql_statement(exclusive: bool) -> Executable:
    """The three writes in one statement: the redemption; the timeline row and the outcome
    only if the redemption returned its row."""
    redeemed = _redeem_update(exclusive).cte("redeemed")
    event = _event_insert(redeemed.c.id).cte("redeemed_event")
    outcome = (_outcome_update().where(exists(select(redeemed.c.id)))
               .returning(table_of(IdempotencyRecord).c.id).cte("redeemed_outcome"))
    return select(redeemed.c.id).add_cte(event, outcome)


@cache
def _sqlite_statements(exclusive: bool) -> tuple[Executable, Executable, Executable]:
    return (_redeem_update(exclusive),
            _event_insert(bindparam("redemption_coupon_id", type_=Integer())),
            _outcome_update())


def redeem_and_record(
    session: Session,
    *,
    coupon_id: int,
    order_id: int,
    discount_fen: int,
    now: datetime,
    seen_discounted_fen: int,
    exclusive: bool,
    actor_name: str,
    details: dict[str, Any],
    record_id: int,
    status_code: int,
    response: dict[str, Any],
) -> bool:
    """Redeem the coupon (see the module docstring), add its ``redeemed`` timeline row and
    store ``response`` on the idempotency record; False, writing nothing, if a condition no
    longer holds (``exclusive``: the coupon's template does not stack)."""
    parameters = {
        "redemption_coupon_id": coupon_id, _ORDER_ID: order_id,
        "redemption_discount_fen": discount_fen, "redemption_moment": now,
        "seen_discounted_fen": seen_discounted_fen, "event_actor": actor_name,
        "event_details": details, "outcome_record_id": record_id,
        "outcome_status": status_code, "outcome_body": response,
    }
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(_postgresql_statement(exclusive), parameters).first()
        return found is not None
    redeem, event, outcome = _sqlite_statements(exclusive)
    if session.execute(redeem, parameters).first() is None:
        return False
    session.execute(event, parameters)
    session.execute(outcome, parameters)
    return True
