"""Every query of bargaining. Helps move by one conditional statement each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yutang.fission.bargain_models import Bargain, BargainHelp, BargainStatus
from yutang.kit.sql import insert_into, table_of

_NO_SYNC = {"synchronize_session": False}


def bargain(session: Session, bargain_id: int) -> Bargain | None:
    return session.scalars(select(Bargain).where(Bargain.id == bargain_id)
                           .execution_options(populate_existing=True)).one_or_none()


def bargains(session: Session, *, store_id: int | None = None, status: str | None = None,
             limit: int = 50, offset: int = 0) -> Sequence[Bargain]:
    statement = select(Bargain).order_by(Bargain.id.desc()).limit(limit).offset(offset)
    if store_id is not None:
        statement = statement.where(Bargain.store_id == store_id)
    if status is not None:
        statement = statement.where(Bargain.status == status)
    return session.scalars(statement).all()


def count_by_status(session: Session, *, store_id: int | None = None) -> dict[str, int]:
    statement = select(Bargain.status, func.count()).group_by(Bargain.status)
    if store_id is not None:
        statement = statement.where(Bargain.store_id == store_id)
    return {str(status): int(count) for status, count in session.execute(statement)}


def has_helped(session: Session, bargain_id: int, customer_id: int) -> bool:
    found = session.scalar(select(BargainHelp.id).where(
        BargainHelp.bargain_id == bargain_id,
        (BargainHelp.customer_id == customer_id) | (BargainHelp.helper_key == customer_id),
    ).limit(1))
    return found is not None


def take_help(session: Session, bargain_id: int, now: datetime) -> int | None:
    """``helps_done = helps_done + 1`` while open, short of the helps needed and in time; the
    help's sequence number, or None."""
    statement = (update(Bargain)
                 .where(Bargain.id == bargain_id, Bargain.status == BargainStatus.OPEN.value,
                        Bargain.helps_done < Bargain.helps_needed, Bargain.expires_at > now)
                 .values(helps_done=Bargain.helps_done + 1).returning(Bargain.helps_done))
    value = session.execute(statement, execution_options=_NO_SYNC).scalar_one_or_none()
    return None if value is None else int(value)


def add_cut(session: Session, bargain_id: int, cut_fen: int, *, completes: bool,
            now: datetime) -> int:
    """Add the cut; the last help completes the bargain. The total cut so far."""
    values: dict[str, Any] = {"cut_fen": Bargain.cut_fen + cut_fen}
    if completes:
        values.update(status=BargainStatus.COMPLETED.value, completed_at=now)
    statement = (update(Bargain).where(Bargain.id == bargain_id).values(**values)
                 .returning(Bargain.cut_fen))
    return int(session.execute(statement, execution_options=_NO_SYNC).scalar_one())


def insert_help(session: Session, row: dict[str, Any]) -> int | None:
    """The help's id, or None if this friend helped already."""
    statement = insert_into(session, BargainHelp).values(**row).on_conflict_do_nothing(
    ).returning(table_of(BargainHelp).c.id)
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def helps_of(session: Session, bargain_id: int) -> Sequence[BargainHelp]:
    return session.scalars(select(BargainHelp).where(BargainHelp.bargain_id == bargain_id)
                           .order_by(BargainHelp.sequence)).all()


def expire_overdue(session: Session, now: datetime) -> int:
    statement = (update(Bargain)
                 .where(Bargain.status == BargainStatus.OPEN.value, Bargain.expires_at <= now)
                 .values(status=BargainStatus.EXPIRED.value, expired_at=now)
                 .returning(Bargain.id))
    return len(session.execute(statement, execution_options=_NO_SYNC).all())
