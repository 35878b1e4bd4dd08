"""Every query of the pool. Store-scoped reads go through ``scoped_customers``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.kit.sql import in_list
from yutang.pool.models import (
    Channel,
    ChannelSpend,
    Consent,
    Customer,
    CustomerTag,
    Event,
    Identity,
    IdentityValue,
    MergeLog,
    Order,
    OrderItem,
    Tag,
)


def scoped_customers(principal: Principal) -> Select[Customer]:
    """The one statement through which customers are read: staff see only their store."""
    statement = select(Customer).where(Customer.merged_into_id.is_(None))
    if principal.is_store_scoped:
        statement = statement.where(Customer.store_id == principal.store_id)
    return statement


def visible_customer_ids(session: Session, principal: Principal,
                         customer_ids: Collection[int]) -> set[int]:
    """Which of ``customer_ids`` the principal may see (live, and in their store if scoped)."""
    if not customer_ids:
        return set()
    statement = scoped_customers(principal).where(in_list(Customer.id, customer_ids))
    return {int(customer_id) for customer_id in session.scalars(
        statement.with_only_columns(Customer.id))}


def customer_for(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    return session.scalars(
        scoped_customers(principal).where(Customer.id == customer_id)
    ).one_or_none()


def search_customers(
    session: Session,
    principal: Principal,
    *,
    phone_index: str | None = None,
    name_index: str | None = None,
    customer_id: int | None = None,
    customer_ids: Sequence[int] | None = None,
    store_id: int | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Customer], int]:
    statement = scoped_customers(principal)
    if phone_index is not None:
        statement = statement.where(Customer.phone_index == phone_index)
    if name_index is not None:
        statement = statement.where(Customer.name_index == name_index)
    if customer_id is not None:
        statement = statement.where(Customer.id == customer_id)
    if customer_ids is not None:
        statement = statement.where(Customer.id.in_(customer_ids))
    if store_id is not None:
        statement = statement.where(Customer.store_id == store_id)
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    rows = session.scalars(
        statement.order_by(Customer.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total


def identities_of(session: Session, customer_id: int) -> Sequence[Identity]:
    return session.scalars(
        select(Identity).where(Identity.customer_id == customer_id).order_by(Identity.id)
    ).all()


def value_statuses(session: Session, value_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """value id → (strength, status)."""
    if not value_ids:
        return {}
    rows = session.execute(
        select(IdentityValue.id, IdentityValue.strength, IdentityValue.status).where(
            IdentityValue.id.in_(value_ids))
    )
    return {int(row[0]): (str(row[1]), str(row[2])) for row in rows}


def merges_of(session: Session, customer_id: int) -> Sequence[MergeLog]:
    """Merges into, and splits of, this customer; newest first."""
    return session.scalars(
        select(MergeLog).where(MergeLog.survivor_id == customer_id)
        .order_by(MergeLog.at.desc(), MergeLog.id.desc())
    ).all()


def identity_of(session: Session, customer_id: int, identity_id: int) -> Identity | None:
    return session.scalars(
        select(Identity).where(Identity.id == identity_id, Identity.customer_id == customer_id)
    ).one_or_none()


def tag_by_name(session: Session, name: str) -> Tag | None:
    return session.scalars(select(Tag).where(Tag.name == name)).one_or_none()


def tagged_customers(session: Session, tag_id: int, customer_ids: Sequence[int]) -> set[int]:
    if not customer_ids:
        return set()
    return set(session.scalars(select(CustomerTag.customer_id).where(
        CustomerTag.tag_id == tag_id, CustomerTag.customer_id.in_(customer_ids))))


def consents_of(session: Session, customer_id: int) -> Sequence[Consent]:
    return session.scalars(
        select(Consent)
        .where(Consent.customer_id == customer_id)
        .order_by(Consent.recorded_at, Consent.id)
    ).all()


def orders_of(session: Session, customer_id: int, limit: int = 100) -> Sequence[Order]:
    return session.scalars(
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(limit)
    ).all()


def items_of_orders(session: Session, order_ids: Sequence[int]) -> Sequence[OrderItem]:
    if not order_ids:
        return []
    return session.scalars(
        select(OrderItem).where(OrderItem.order_id.in_(order_ids)).order_by(OrderItem.id)
    ).all()


def events_of(session: Session, customer_id: int, limit: int = 100) -> Sequence[Event]:
    return session.scalars(
        select(Event)
        .where(Event.customer_id == customer_id)
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(limit)
    ).all()


def tags_of(session: Session, customer_id: int) -> Sequence[Tag]:
    return session.scalars(
        select(Tag)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.customer_id == customer_id)
        .order_by(Tag.name)
    ).all()


def channel_by_id(session: Session, channel_id: int) -> Channel | None:
    return session.get(Channel, channel_id)


def all_channels(session: Session) -> Sequence[Channel]:
    return session.scalars(select(Channel).order_by(Channel.code)).all()


# --- overview aggregates (scoped the same way) -----------------------------------------------


def count_customers(session: Session, principal: Principal) -> int:
    statement = select(func.count()).select_from(scoped_customers(principal).subquery())
    return int(session.scalar(statement) or 0)


def acquisitions_by_month_and_channel(
    session: Session, principal: Principal, since: datetime
) -> Sequence[tuple[str, int | None, int]]:
    """(YYYY-MM in UTC+8, channel id, new customers) for customers acquired since ``since``."""
    scoped = scoped_customers(principal).where(Customer.acquired_at >= since).subquery()
    month = _month_label(session, scoped.c.acquired_at)
    statement = (
        select(month, scoped.c.acquisition_channel_id, func.count())
        .group_by(month, scoped.c.acquisition_channel_id)
        .order_by(month)
    )
    return [(str(row[0]), row[1], int(row[2])) for row in session.execute(statement)]


def customers_before(session: Session, principal: Principal, moment: datetime) -> int:
    statement = select(func.count()).select_from(
        scoped_customers(principal).where(Customer.acquired_at < moment).subquery()
    )
    return int(session.scalar(statement) or 0)


def gmv_by_month(
    session: Session, principal: Principal, since: datetime
) -> Sequence[tuple[str, int, int]]:
    """(YYYY-MM in UTC+8, paid GMV in fen, orders) for paid or completed orders since ``since``."""
    statement = select(Order.ordered_at, Order.paid_fen).where(
        Order.ordered_at >= since, Order.status.in_(("paid", "completed"))
    )
    if principal.is_store_scoped:
        statement = statement.where(Order.store_id == principal.store_id)
    scoped = statement.subquery()
    month = _month_label(session, scoped.c.ordered_at)
    grouped = (
        select(month, func.coalesce(func.sum(scoped.c.paid_fen), 0), func.count())
        .group_by(month)
        .order_by(month)
    )
    return [(str(row[0]), int(row[1]), int(row[2])) for row in session.execute(grouped)]


def _month_label(session: Session, column: ColumnElement[Any]) -> ColumnElement[str]:
    """Calendar month in Asia/Shanghai (UTC+8, no daylight saving) as ``YYYY-MM``."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", column, "+8 hours")
    return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")


def spend_by_channel(session: Session, since: date) -> Sequence[tuple[int, int]]:
    statement = (
        select(ChannelSpend.channel_id, func.sum(ChannelSpend.amount_fen))
        .where(ChannelSpend.month >= since)
        .group_by(ChannelSpend.channel_id)
    )
    return [(int(row[0]), int(row[1])) for row in session.execute(statement)]
