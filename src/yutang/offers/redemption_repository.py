"""The queries of coupon redemptions, the hottest write of offers, for a batch of them at once
(a batch of one included): Core rows instead of ORM objects, a few statements a batch.

1. ``lock_orders``: the orders, their rows locked in id order (PostgreSQL), with what the
   coupons already redeemed on each take off.
2. ``coupons_by_code``: the coupons and their templates.
3. ``order_lines``: an order's lines, only for coupons that need them (SKU scope, add-on,
   bundle).
4. ``redeem_and_record``: the conditional ``available → redeemed`` UPDATEs, the coupons'
   timeline rows and the idempotency records' outcomes — one statement on PostgreSQL
   (the writes as one JSON parameter, data-modifying CTEs), three a coupon on SQLite
   (in-process, under the writer's lock).

The orders are locked, but a coupon may be redeemed on *another* order by a concurrent
transaction between the read and the write. The UPDATE therefore re-checks, on fresh data,
everything the benefit was computed from: the coupon still available and valid, the same
amount already taken off the order, and no coupon on the order that stacking forbids. A
coupon it does not redeem has nothing written; the caller reads again and decides.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Executable,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from yutang.kit.db import UTCDateTime
from yutang.kit.sql import in_list_parameter, record_list, table_of
from yutang.offers.models import (
    Coupon,
    CouponEvent,
    CouponEventKind,
    CouponStatus,
    CouponTemplate,
    IdempotencyRecord,
    Stacking,
)
from yutang.offers.repository import outcome_update
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
class OrderState:
    """An order and the coupons already redeemed on it: how many, what they took off,
    whether one of them is exclusive."""

    order: OrderView
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
def _orders_statement() -> Select[Any]:
    order = table_of(Order)
    return (
        select(*(order.c[name] for name in ORDER_COLUMNS),
               _count_on(order.c.id).label("redeemed_on_order"),
               _discounted_on(order.c.id).label("discounted_on_order"),
               _exclusive_on(order.c.id).label("exclusive_on_order"))
        .where(in_list_parameter(order.c.id, "order_ids"))
        .order_by(order.c.id)  # locked in id order: concurrent batches cannot deadlock
        .with_for_update(of=order)
    )


def lock_orders(session: Session, order_ids: Collection[int]) -> dict[int, OrderState]:
    """The orders by id, their rows locked (PostgreSQL) until the transaction ends; what their
    redeemed coupons took is read under that lock."""
    if not order_ids:
        return {}
    found = {}
    for row in session.execute(_orders_statement(), {"order_ids": sorted(order_ids)}):
        values = row._mapping
        order = OrderView(*(values[name] for name in ORDER_COLUMNS))
        found[order.id] = OrderState(
            order=order, redeemed_on_order=int(values["redeemed_on_order"]),
            discounted_on_order_fen=int(values["discounted_on_order"]),
            exclusive_on_order=bool(values["exclusive_on_order"]))
    return found


@cache
def _coupons_statement() -> Select[Any]:
    coupon, template = table_of(Coupon), table_of(CouponTemplate)
    return (
        select(*(coupon.c[name].label(f"coupon_{name}") for name in COUPON_COLUMNS),
               *(template.c[name].label(f"template_{name}") for name in TEMPLATE_COLUMNS))
        .select_from(coupon.join(template, template.c.id == coupon.c.template_id))
        .where(in_list_parameter(coupon.c.code, "codes"))
    )


def coupons_by_code(session: Session,
                    codes: Collection[str]) -> dict[str, tuple[CouponView, TemplateView]]:
    """The coupons with these codes, each with its template."""
    if not codes:
        return {}
    found = {}
    for row in session.execute(_coupons_statement(), {"codes": sorted(codes)}):
        values = row._mapping
        coupon = CouponView(*(values[f"coupon_{name}"] for name in COUPON_COLUMNS))
        found[coupon.code] = (
            coupon, TemplateView(*(values[f"template_{name}"] for name in TEMPLATE_COLUMNS)))
    return found


@cache
def _reference_statement(with_source: bool) -> Select[Any]:
    order = table_of(Order)
    statement = select(order.c.id).where(
        order.c.external_order_id == bindparam("external_order_id", type_=String()))
    if with_source:
        statement = statement.where(order.c.source == bindparam("source", type_=String()))
    return statement.order_by(order.c.id).limit(2)  # two: the number names no single order


def order_id_by_reference(session: Session, *, source: str | None,
                          external_order_id: str) -> int | None:
    """The id of the one order with the merchant's number (and source, if given); None when
    no single order has it."""
    ids = session.scalars(_reference_statement(source is not None),
                          {"external_order_id": external_order_id, "source": source}).all()
    return int(ids[0]) if len(ids) == 1 else None


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


@dataclass(frozen=True, slots=True)
class RedemptionWrite:
    """One redemption decided on a view: what to write, and what the view said that the
    write re-checks (``seen_discounted_fen``; ``exclusive``: the coupon's template does not
    stack)."""

    coupon_id: int
    order_id: int
    discount_fen: int
    seen_discounted_fen: int
    exclusive: bool
    actor_name: str
    details: dict[str, Any]
    record_id: int
    response: dict[str, Any]


def _redeemable(coupon_id: Any, order_id: Any, seen_discounted_fen: Any, exclusive: Any,
                now: Any) -> Any:
    """The coupon still available and valid, the order's coupons took off what the benefit
    assumed, and stacking allows it (an exclusive coupon: no other coupon on the order; a
    stackable one: no exclusive one)."""
    coupon = table_of(Coupon)
    return and_(coupon.c.id == coupon_id,
                coupon.c.status == CouponStatus.AVAILABLE.value,
                or_(coupon.c.valid_until.is_(None), coupon.c.valid_until > now),
                _discounted_on(order_id) == seen_discounted_fen,
                or_(and_(exclusive, ~_any_on(order_id)),
                    and_(~exclusive, ~_exclusive_on(order_id))))


_EVENT_COLUMNS = ("coupon_id", "kind", "at", "order_id", "discount_fen", "actor_name", "details")
"""The columns a ``redeemed`` timeline row is written with."""


@cache
def _postgresql_statement() -> Executable:
    """Every write in one statement: the conditional UPDATEs from the rows of a JSON array
    (one parameter: the statement's text is the same for any number of writes, so it is
    compiled once and prepared), the timeline rows and the idempotency outcomes of the
    coupons it redeemed."""
    request = record_list("redemption_rows", [
        ("coupon_id", BigInteger()), ("order_id", BigInteger()), ("discount_fen", BigInteger()),
        ("seen_fen", BigInteger()), ("exclusive", Boolean()), ("actor_name", String()),
        ("details", JSON()), ("record_id", BigInteger()), ("response", JSON())],
        postgresql=True, alias="request")
    coupon = table_of(Coupon)
    now = bindparam("redemption_moment", type_=UTCDateTime())
    redeemed = (
        update(coupon)
        .where(_redeemable(request.c.coupon_id, request.c.order_id, request.c.seen_fen,
                           request.c.exclusive, now))
        .values(status=CouponStatus.REDEEMED.value, order_id=request.c.order_id,
                discount_fen=request.c.discount_fen, redeemed_at=now)
        .returning(coupon.c.id, request.c.order_id.label("redeemed_order_id"),
                   request.c.discount_fen.label("redeemed_discount_fen"),
                   request.c.actor_name, request.c.details, request.c.record_id,
                   request.c.response)
        .cte("redeemed")
    )
    event = insert(table_of(CouponEvent)).from_select(
        _EVENT_COLUMNS,
        select(redeemed.c.id, literal(CouponEventKind.REDEEMED.value), now,
               redeemed.c.redeemed_order_id, redeemed.c.redeemed_discount_fen,
               redeemed.c.actor_name, redeemed.c.details)).cte("redeemed_event")
    record = table_of(IdempotencyRecord)
    outcome = (update(record).where(record.c.id == redeemed.c.record_id)
               .values(status_code=bindparam("outcome_status", type_=Integer()),
                       response=redeemed.c.response)
               .returning(record.c.id).cte("redeemed_outcome"))
    return select(redeemed.c.id).add_cte(event, outcome)


_ORDER_ID = "redemption_order_id"
"""Parameter names differ from every column name of the tables written (SQLAlchemy would
otherwise take them for values to set)."""


@cache
def _sqlite_statements() -> tuple[Executable, Executable, Executable]:
    """One write's three statements (SQLite is in-process: a round trip costs little)."""
    coupon = table_of(Coupon)
    order_id = bindparam(_ORDER_ID, type_=Integer())
    now = bindparam("redemption_moment", type_=UTCDateTime())
    redeem = (
        update(coupon)
        .where(_redeemable(bindparam("redemption_coupon_id", type_=Integer()), order_id,
                           bindparam("seen_discounted_fen", type_=Integer()),
                           bindparam("exclusive_coupon", type_=Boolean()), now))
        .values(status=CouponStatus.REDEEMED.value, order_id=order_id,
                discount_fen=bindparam("redemption_discount_fen", type_=Integer()),
                redeemed_at=now)
        .returning(coupon.c.id)
    )
    event = insert(table_of(CouponEvent)).from_select(
        _EVENT_COLUMNS,
        select(bindparam("redemption_coupon_id", type_=Integer()),
               literal(CouponEventKind.REDEEMED.value), now, order_id,
               bindparam("redemption_discount_fen", type_=Integer()),
               bindparam("event_actor", type_=String()),
               bindparam("event_details", type_=JSON())))
    return redeem, event, outcome_update()


def redeem_and_record(session: Session, writes: Sequence[RedemptionWrite], *, now: datetime,
                      status_code: int) -> set[int]:
    """Redeem the coupons whose conditions still hold (see ``_redeemable``), add their
    ``redeemed`` timeline rows and store each one's response on its idempotency record with
    ``status_code``; the ids of the coupons redeemed (for the others nothing is written).
    ``writes`` name distinct coupons and distinct orders: one statement's conditions cannot
    see each other's effects."""
    if not writes:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        rows = [{"coupon_id": write.coupon_id, "order_id": write.order_id,
                 "discount_fen": write.discount_fen, "seen_fen": write.seen_discounted_fen,
                 "exclusive": write.exclusive, "actor_name": write.actor_name,
                 "details": write.details, "record_id": write.record_id,
                 "response": write.response} for write in writes]
        return {int(found) for found in session.scalars(_postgresql_statement(), {
            "redemption_rows": rows, "redemption_moment": now,
            "outcome_status": status_code})}
    redeem, event, outcome = _sqlite_statements()
    redeemed = set()
    for write in writes:
        parameters = {
            "redemption_coupon_id": write.coupon_id, _ORDER_ID: write.order_id,
            "redemption_discount_fen": write.discount_fen, "redemption_moment": now,
            "seen_discounted_fen": write.seen_discounted_fen,
            "exclusive_coupon": write.exclusive, "event_actor": write.actor_name,
            "event_details": write.details, "outcome_record_id": write.record_id,
            "outcome_status": status_code, "outcome_body": write.response,
        }
        if session.execute(redeem, parameters).first() is None:
            continue
        session.execute(event, parameters)
        session.execute(outcome, parameters)
        redeemed.add(write.coupon_id)
    return redeemed
