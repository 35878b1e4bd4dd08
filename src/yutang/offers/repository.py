"""Every query of offers. Limits change in one conditional statement each (``…_if`` below):
no row back means the limit was reached, and the caller raises the domain error."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Executable,
    Integer,
    String,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yutang.kit.db import UTCDateTime
from yutang.kit.sql import in_list, insert_into, record_list, table_of
from yutang.offers.models import (
    Coupon,
    CouponClaimCounter,
    CouponEvent,
    CouponStatus,
    CouponTemplate,
    IdempotencyRecord,
    MembershipTier,
    PointsLot,
    TemplateStatus,
    TierChange,
    TopUpPlan,
    WelcomeGrant,
)
from yutang.org.models import Store
from yutang.pool.models import Channel, Customer, Event, Order, OrderStatus, Touch
from yutang.pool.models import ChannelCode as PoolChannelCode

# --- customers, orders, stores and channels (read from pool and org) -----------------------


def customer_row(session: Session, customer_id: int) -> Customer | None:
    """The customer record, merged or not (callers follow ``merged_into_id``)."""
    return session.get(Customer, customer_id)


def order_by_id(session: Session, order_id: int, *, lock: bool = False) -> Order | None:
    statement = select(Order).where(Order.id == order_id)
    if lock:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def order_by_reference(session: Session, source: str | None, external_order_id: str,
                       *, lock: bool = False) -> Order | None:
    statement = select(Order).where(Order.external_order_id == external_order_id)
    if source is not None:
        statement = statement.where(Order.source == source)
    if lock:
        statement = statement.with_for_update()
    rows = session.scalars(statement.order_by(Order.id).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def store_ids_by_code(session: Session, codes: Collection[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = session.execute(select(Store.code, Store.id).where(Store.code.in_(list(codes))))
    return {str(code): int(store_id) for code, store_id in rows}


def channel_ids_by_code(session: Session, codes: Collection[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = session.execute(select(Channel.code, Channel.id).where(Channel.code.in_(list(codes))))
    return {str(code): int(channel_id) for code, channel_id in rows}


def contacts_since(session: Session, since: datetime) -> Sequence[tuple[int, str]]:
    """(customer id, channel code state) of every contact added through a code since then."""
    rows = session.execute(
        select(Touch.customer_id, PoolChannelCode.state)
        .join(PoolChannelCode, PoolChannelCode.id == Touch.code_id)
        .where(Touch.at >= since, Touch.kind == "add_contact")
        .order_by(Touch.id)
    )
    return [(int(customer_id), str(state)) for customer_id, state in rows]


def contacts_of_events(session: Session, event_ids: Collection[str]) -> Sequence[tuple[int, str]]:
    """(customer id, channel code state) of the contacts added through a code by these events."""
    rows = session.execute(
        select(Touch.customer_id, PoolChannelCode.state)
        .join(PoolChannelCode, PoolChannelCode.id == Touch.code_id)
        .where(in_list(Touch.event_id, event_ids), Touch.kind == "add_contact")
        .order_by(Touch.id)
    )
    return [(int(customer_id), str(state)) for customer_id, state in rows]


def group_joins_of_events(session: Session, event_ids: Collection[str]) -> Sequence[int]:
    rows = session.scalars(
        select(Event.customer_id).where(
            in_list(Event.event_id, event_ids), Event.type == "join_group",
            Event.customer_id.is_not(None)).order_by(Event.id)
    )
    return [int(customer_id) for customer_id in rows if customer_id is not None]


def has_welcome_templates(session: Session) -> bool:
    return session.scalar(select(CouponTemplate.id).where(
        CouponTemplate.welcome_trigger.is_not(None),
        CouponTemplate.status == TemplateStatus.ACTIVE.value).limit(1)) is not None


def group_joins_since(session: Session, since: datetime) -> Sequence[int]:
    rows = session.scalars(
        select(Event.customer_id).where(
            Event.type == "join_group", Event.occurred_at >= since,
            Event.customer_id.is_not(None)).order_by(Event.id)
    )
    return [int(customer_id) for customer_id in rows if customer_id is not None]


# --- coupon templates and coupons ----------------------------------------------------------


def template(session: Session, template_id: int) -> CouponTemplate | None:
    return session.get(CouponTemplate, template_id)


def templates(session: Session, limit: int = 200) -> Sequence[CouponTemplate]:
    return session.scalars(
        select(CouponTemplate).order_by(CouponTemplate.id.desc()).limit(limit)
    ).all()


def welcome_templates(session: Session, trigger: str) -> Sequence[CouponTemplate]:
    return session.scalars(
        select(CouponTemplate).where(
            CouponTemplate.welcome_trigger == trigger,
            CouponTemplate.status == TemplateStatus.ACTIVE.value,
        ).order_by(CouponTemplate.id)
    ).all()


def coupon_counts_by_template(
    session: Session, template_ids: Collection[int]
) -> dict[int, dict[str, int]]:
    """template id → coupon status → count."""
    if not template_ids:
        return {}
    rows = session.execute(
        select(Coupon.template_id, Coupon.status, func.count())
        .where(Coupon.template_id.in_(list(template_ids)))
        .group_by(Coupon.template_id, Coupon.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for template_id, status, count in rows:
        counts.setdefault(int(template_id), {})[str(status)] = int(count)
    return counts


def issue_one_if_in_stock(session: Session, template_id: int) -> int | None:
    """``issued = issued + 1`` unless the stock is gone; the new count, or None."""
    statement = (
        update(CouponTemplate)
        .where(CouponTemplate.id == template_id,
               or_(CouponTemplate.stock.is_(None), CouponTemplate.issued < CouponTemplate.stock))
        .values(issued=CouponTemplate.issued + 1)
        .returning(CouponTemplate.issued)
    )
    found = session.execute(statement, execution_options={"synchronize_session": False})
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


def ensure_claim_counter(session: Session, *, template_id: int, customer_id: int) -> None:
    statement = insert_into(session, CouponClaimCounter).values(
        template_id=template_id, holder_key=customer_id, customer_id=customer_id, claimed=0
    ).on_conflict_do_nothing()
    session.execute(statement)


def inherited_claims(session: Session, *, template_id: int, customer_id: int) -> int:
    """Claims counted on counters a merge brought to this customer (frozen since)."""
    total = session.scalar(
        select(func.coalesce(func.sum(CouponClaimCounter.claimed), 0)).where(
            CouponClaimCounter.template_id == template_id,
            CouponClaimCounter.customer_id == customer_id,
            CouponClaimCounter.holder_key != customer_id,
        )
    )
    return int(total or 0)


def count_claim_if_within_limit(
    session: Session, *, template_id: int, customer_id: int, limit: int, inherited: int
) -> int | None:
    """``claimed = claimed + 1`` unless that would pass the limit; the new count, or None."""
    statement = (
        update(CouponClaimCounter)
        .where(CouponClaimCounter.template_id == template_id,
               CouponClaimCounter.holder_key == customer_id,
               CouponClaimCounter.claimed + inherited < limit)
        .values(claimed=CouponClaimCounter.claimed + 1)
        .returning(CouponClaimCounter.claimed)
    )
    found = session.execute(statement, execution_options={"synchronize_session": False})
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


def coupon_by_code(session: Session, code: str) -> Coupon | None:
    return session.scalars(select(Coupon).where(Coupon.code == code)
                           .execution_options(populate_existing=True)).one_or_none()


def coupon_state(session: Session, coupon_id: int) -> tuple[str, datetime | None, int | None]:
    """(status, valid_until, order_id) as committed now (not the session's copy)."""
    row = session.execute(
        select(Coupon.status, Coupon.valid_until, Coupon.order_id)
        .where(Coupon.id == coupon_id)
        .execution_options(populate_existing=True)
    ).one()
    return str(row[0]), row[1], row[2]


def release_if_redeemed(session: Session, *, coupon_id: int, order_id: int) -> bool:
    statement = (
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.status == CouponStatus.REDEEMED.value,
               Coupon.order_id == order_id)
        .values(status=CouponStatus.AVAILABLE.value, order_id=None, discount_fen=0,
                redeemed_at=None)
        .returning(Coupon.id)
    )
    found = session.execute(statement, execution_options={"synchronize_session": False})
    return found.scalar_one_or_none() is not None


def void_if_available(session: Session, *, coupon_id: int, now: datetime) -> bool:
    statement = (
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.status == CouponStatus.AVAILABLE.value)
        .values(status=CouponStatus.VOIDED.value, ended_at=now)
        .returning(Coupon.id)
    )
    found = session.execute(statement, execution_options={"synchronize_session": False})
    return found.scalar_one_or_none() is not None


def expire_available_before(session: Session, now: datetime) -> list[int]:
    """Every available coupon whose validity ended: ``expired``; their ids."""
    statement = (
        update(Coupon)
        .where(Coupon.status == CouponStatus.AVAILABLE.value,
               Coupon.valid_until.is_not(None), Coupon.valid_until <= now)
        .values(status=CouponStatus.EXPIRED.value, ended_at=now)
        .returning(Coupon.id)
    )
    found = session.execute(statement, execution_options={"synchronize_session": False})
    return sorted(int(value) for value in found.scalars())


def redeemed_coupons_of_ended_orders(session: Session, limit: int = 1000,
                                     order_ids: Collection[int] | None = None,
                                     ) -> Sequence[Coupon]:
    """Coupons still redeemed on orders since refunded or closed (of ``order_ids`` if given)."""
    statement = select(Coupon).join(Order, Order.id == Coupon.order_id).where(
        Coupon.status == CouponStatus.REDEEMED.value,
        Order.status.in_([OrderStatus.REFUNDED.value, OrderStatus.CLOSED.value]),
    )
    if order_ids is not None:
        statement = statement.where(in_list(Order.id, order_ids))
    return session.scalars(statement.order_by(Coupon.id).limit(limit)).all()


def coupons_of_customer(session: Session, customer_id: int,
                        limit: int = 200) -> Sequence[tuple[Coupon, CouponTemplate]]:
    rows = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.customer_id == customer_id)
        .order_by(Coupon.id.desc()).limit(limit)
    )
    return [(coupon, template) for coupon, template in rows]


def coupon_count(session: Session, *, template_id: int | None = None,
                 status: str | None = None) -> int:
    statement = select(func.count()).select_from(Coupon)
    if template_id is not None:
        statement = statement.where(Coupon.template_id == template_id)
    if status is not None:
        statement = statement.where(Coupon.status == status)
    return int(session.scalar(statement) or 0)


def coupon_events(session: Session, coupon_id: int) -> Sequence[CouponEvent]:
    return session.scalars(
        select(CouponEvent).where(CouponEvent.coupon_id == coupon_id).order_by(CouponEvent.id)
    ).all()


def add_coupon_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert_into(session, CouponEvent), list(rows))


def welcome_granted(session: Session, *, template_id: int, customer_id: int) -> bool:
    found = session.scalar(select(WelcomeGrant.id).where(
        WelcomeGrant.template_id == template_id,
        WelcomeGrant.customer_id == customer_id).limit(1))
    return found is not None


def insert_welcome_grant(session: Session, row: dict[str, Any]) -> int | None:
    table = table_of(WelcomeGrant)
    statement = insert_into(session, WelcomeGrant).values(**row).on_conflict_do_nothing(
    ).returning(table.c.id)
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def set_welcome_coupon(session: Session, grant_id: int, coupon_id: int) -> None:
    session.execute(update(WelcomeGrant).where(WelcomeGrant.id == grant_id)
                    .values(coupon_id=coupon_id),
                    execution_options={"synchronize_session": False})


# --- stored value plans, points lots -------------------------------------------------------


def plan(session: Session, plan_id: int) -> TopUpPlan | None:
    return session.get(TopUpPlan, plan_id)


def plans(session: Session) -> Sequence[TopUpPlan]:
    return session.scalars(select(TopUpPlan).order_by(TopUpPlan.pay_fen, TopUpPlan.id)).all()


def open_lots(session: Session, customer_id: int) -> Sequence[PointsLot]:
    """The customer's lots with points left, oldest expiry first (FIFO)."""
    return session.scalars(
        select(PointsLot)
        .where(PointsLot.customer_id == customer_id, PointsLot.remaining > 0)
        .order_by(PointsLot.expires_at, PointsLot.id)
        .execution_options(populate_existing=True)
    ).all()


def expired_lots(session: Session, now: datetime, limit: int = 5000) -> Sequence[PointsLot]:
    return session.scalars(
        select(PointsLot)
        .where(PointsLot.remaining > 0, PointsLot.expires_at <= now)
        .order_by(PointsLot.customer_id, PointsLot.expires_at, PointsLot.id)
        .limit(limit)
    ).all()


def lots_remaining(session: Session, customer_id: int) -> int:
    total = session.scalar(select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
        PointsLot.customer_id == customer_id))
    return int(total or 0)


# --- membership ----------------------------------------------------------------------------


def tiers(session: Session) -> Sequence[MembershipTier]:
    return session.scalars(select(MembershipTier).order_by(MembershipTier.rank)).all()


def tier_by_code_or_rank(session: Session, code: str, rank: int) -> MembershipTier | None:
    return session.scalars(select(MembershipTier).where(
        or_(MembershipTier.code == code, MembershipTier.rank == rank)).limit(1)).first()


def spend_since(session: Session, since: datetime) -> dict[int, int]:
    """customer id → paid spend (paid or completed orders) since then."""
    rows = session.execute(
        select(Order.customer_id, func.sum(Order.paid_fen))
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.ordered_at >= since, Customer.merged_into_id.is_(None),
               Order.status.in_([OrderStatus.PAID.value, OrderStatus.COMPLETED.value]))
        .group_by(Order.customer_id)
    )
    return {int(customer): int(total or 0) for customer, total in rows
            if customer is not None}


def points_earned_since(session: Session, since: datetime) -> dict[int, int]:
    rows = session.execute(
        select(PointsLot.customer_id, func.sum(PointsLot.earned))
        .where(PointsLot.earned_at >= since)
        .group_by(PointsLot.customer_id)
    )
    return {int(customer): int(total or 0) for customer, total in rows}


def current_tiers(session: Session,
                  customer_ids: Collection[int] | None = None) -> dict[int, TierChange]:
    """customer id → their newest tier change."""
    newest = select(TierChange.customer_id, func.max(TierChange.id).label("newest")).group_by(
        TierChange.customer_id)
    if customer_ids is not None:
        newest = newest.where(in_list(TierChange.customer_id, customer_ids))
    latest = newest.subquery()
    rows = session.scalars(select(TierChange).join(latest, latest.c.newest == TierChange.id))
    return {row.customer_id: row for row in rows}


def tier_history(session: Session, customer_id: int) -> Sequence[TierChange]:
    return session.scalars(
        select(TierChange).where(TierChange.customer_id == customer_id)
        .order_by(TierChange.id.desc())
    ).all()


def members_by_tier(session: Session) -> dict[int | None, tuple[int, int]]:
    """tier id → (members, of whom super users), from current tiers."""
    counts: dict[int | None, tuple[int, int]] = {}
    for change in current_tiers(session).values():
        members, supers = counts.get(change.tier_id, (0, 0))
        counts[change.tier_id] = (members + 1, supers + int(change.is_super_user))
    return counts


def live_customer_ids(session: Session, customer_ids: Collection[int]) -> set[int]:
    if not customer_ids:
        return set()
    return {int(value) for value in session.scalars(select(Customer.id).where(
        in_list(Customer.id, customer_ids), Customer.merged_into_id.is_(None)))}


# --- idempotency ---------------------------------------------------------------------------


def claim_idempotency_key(session: Session, *, operation: str, key: str,
                          fingerprint: str, now: datetime) -> int | None:
    """Insert the key's record unless it exists (waits for a concurrent claimer on
    PostgreSQL); the new record's id, or None when the key was used before."""
    return claim_idempotency_keys(session, operation=operation, fingerprints={key: fingerprint},
                                  now=now).get(key)


def claim_idempotency_keys(session: Session, *, operation: str, fingerprints: dict[str, str],
                           now: datetime) -> dict[str, int]:
    """``claim_idempotency_key`` for many keys (key → the request's fingerprint) in one
    statement: the new records' ids by key (the keys used before are missing)."""
    if not fingerprints:
        return {}
    statement = _claims_statement(session.get_bind().dialect.name == "postgresql")
    rows = [{"key": key, "fingerprint": print_} for key, print_ in fingerprints.items()]
    return {str(key): int(record_id) for record_id, key in session.execute(statement, {
        "claim_rows": rows, "claim_operation": operation, "claim_at": now})}


@cache
def _claims_statement(postgresql: bool) -> Executable:
    table = table_of(IdempotencyRecord)
    claim = record_list("claim_rows", [("key", String()), ("fingerprint", String())],
                        postgresql=postgresql, alias="claim")
    rows = select(bindparam("claim_operation", type_=String()), claim.c.key,
                  claim.c.fingerprint, literal(0), literal({}, type_=JSON()),
                  bindparam("claim_at", type_=UTCDateTime())).where(true())
    # WHERE true: SQLite would read "ON CONFLICT" after a bare SELECT as a join's ON
    return ((postgresql_insert if postgresql else sqlite_insert)(table)
            .from_select(("operation", "key", "fingerprint", "status_code", "response",
                          "created_at"), rows)
            .on_conflict_do_nothing().returning(table.c.id, table.c.key))


def idempotency_record(session: Session, *, operation: str, key: str) -> IdempotencyRecord | None:
    return session.scalars(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.operation == operation, IdempotencyRecord.key == key)
        .execution_options(populate_existing=True)
    ).one_or_none()


def store_outcome(session: Session, *, record_id: int, status_code: int,
                  response: dict[str, Any]) -> None:
    store_outcomes(session, [(record_id, status_code, response)])


def store_outcomes(session: Session,
                   outcomes: Sequence[tuple[int, int, dict[str, Any]]]) -> None:
    """(record id, status code, response) stored on each record, in one round trip."""
    if outcomes:
        session.execute(outcome_update(), [
            {"outcome_record_id": record_id, "outcome_status": status_code,
             "outcome_body": response} for record_id, status_code, response in outcomes])


@cache
def outcome_update() -> Executable:
    """Store an outcome on one idempotency record: parameters ``outcome_record_id``,
    ``outcome_status``, ``outcome_body``."""
    table = table_of(IdempotencyRecord)
    return (update(table)
            .where(table.c.id == bindparam("outcome_record_id", type_=Integer()))
            .values(status_code=bindparam("outcome_status", type_=Integer()),
                    response=bindparam("outcome_body", type_=JSON())))
