from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.org.models import Region, Store


def store_by_code(session: Session, code: str) -> Store | None:
    return session.scalars(select(Store).where(Store.code == code)).one_or_none()


def store_by_id(session: Session, store_id: int) -> Store | None:
    return session.get(Store, store_id)


def all_stores(session: Session) -> Sequence[Store]:
    return session.scalars(select(Store).order_by(Store.code)).all()


def region_by_code(session: Session, code: str) -> Region | None:
    return session.scalars(select(Region).where(Region.code == code)).one_or_none()
