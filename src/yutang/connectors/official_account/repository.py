"""Every query of the Official Account connector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yutang.connectors.official_account.models import OfficialAccount, OfficialAccountCallback


def account_by_app_id(session: Session, app_id: str) -> OfficialAccount | None:
    return session.scalars(
        select(OfficialAccount).where(OfficialAccount.app_id == app_id)).one_or_none()


def active_accounts(session: Session) -> Sequence[OfficialAccount]:
    return session.scalars(
        select(OfficialAccount).where(OfficialAccount.is_active.is_(True))
        .order_by(OfficialAccount.id)).all()


def all_accounts(session: Session) -> Sequence[OfficialAccount]:
    return session.scalars(select(OfficialAccount).order_by(OfficialAccount.id)).all()


def callback_seen(session: Session, *, request_key: str, message_key: str) -> bool:
    found = session.scalar(
        select(OfficialAccountCallback.id).where(
            (OfficialAccountCallback.request_key == request_key)
            | (OfficialAccountCallback.message_key == message_key)).limit(1))
    return found is not None


def insert_callback(session: Session, row: Mapping[str, Any]) -> int | None:
    """Insert unless the request or the message was stored first (by a concurrent delivery
    too); the new row's id, or None for a replay."""
    table = OfficialAccountCallback.__table__
    assert isinstance(table, Table)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**row).on_conflict_do_nothing().returning(
        table.c.id)
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def recent_callbacks(session: Session, limit: int = 100) -> Sequence[OfficialAccountCallback]:
    return session.scalars(
        select(OfficialAccountCallback).order_by(OfficialAccountCallback.id.desc())
        .limit(limit)).all()
