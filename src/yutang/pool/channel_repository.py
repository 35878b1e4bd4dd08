"""Every query of channels, their spend, channel codes and touches."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yutang.pool.models import Channel, ChannelCode, ChannelSpend, Touch


def channel_by_code(session: Session, code: str) -> Channel | None:
    return session.scalars(select(Channel).where(Channel.code == code)).one_or_none()


def spend_of(session: Session, channel_id: int, month: date) -> ChannelSpend | None:
    return session.scalars(
        select(ChannelSpend).where(ChannelSpend.channel_id == channel_id,
                                   ChannelSpend.month == month)
    ).one_or_none()


def spend_rows(session: Session) -> Sequence[ChannelSpend]:
    return session.scalars(
        select(ChannelSpend).order_by(ChannelSpend.month.desc(), ChannelSpend.channel_id)
    ).all()


def codes(session: Session, store_id: int | None = None) -> Sequence[ChannelCode]:
    statement = select(ChannelCode).order_by(ChannelCode.id.desc())
    if store_id is not None:
        statement = statement.where(ChannelCode.store_id == store_id)
    return session.scalars(statement).all()


def code_by_id(session: Session, code_id: int) -> ChannelCode | None:
    return session.get(ChannelCode, code_id)


def codes_by_state(session: Session, states: Collection[str]) -> dict[str, ChannelCode]:
    if not states:
        return {}
    rows = session.scalars(select(ChannelCode).where(ChannelCode.state.in_(sorted(states))))
    return {row.state: row for row in rows}


def touch_counts(session: Session) -> dict[tuple[int, str], int]:
    """(code id, touch kind) → touches."""
    rows = session.execute(
        select(Touch.code_id, Touch.kind, func.count())
        .where(Touch.code_id.is_not(None))
        .group_by(Touch.code_id, Touch.kind)
    )
    return {(int(code_id), str(kind)): int(count) for code_id, kind, count in rows
            if code_id is not None}


def last_touch_before(session: Session, customer_id: int, moment: datetime) -> Touch | None:
    return session.scalars(
        select(Touch)
        .where(Touch.customer_id == customer_id, Touch.at <= moment)
        .order_by(Touch.at.desc(), Touch.id.desc())
        .limit(1)
    ).first()


def touches_of(session: Session, customer_id: int) -> Sequence[Touch]:
    return session.scalars(
        select(Touch).where(Touch.customer_id == customer_id).order_by(Touch.at, Touch.id)
    ).all()
