"""Every query of the webhooks connector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yutang.connectors.webhooks.models import WebhookDelivery, WebhookSource


def source_by_name(session: Session, name: str) -> WebhookSource | None:
    return session.scalars(
        select(WebhookSource).where(WebhookSource.name == name)).one_or_none()


def all_sources(session: Session) -> Sequence[WebhookSource]:
    return session.scalars(select(WebhookSource).order_by(WebhookSource.name)).all()


def insert_delivery(session: Session, row: Mapping[str, Any]) -> int | None:
    """Insert unless the signature was stored first (by a concurrent request too): the new
    row's id, or None for a replay."""
    table = WebhookDelivery.__table__
    assert isinstance(table, Table)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**row).on_conflict_do_nothing().returning(
        table.c.id)
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def recent_deliveries(session: Session,
                      limit: int = 100) -> Sequence[tuple[WebhookDelivery, str]]:
    rows = session.execute(
        select(WebhookDelivery, WebhookSource.name)
        .join(WebhookSource, WebhookSource.id == WebhookDelivery.source_id)
        .order_by(WebhookDelivery.id.desc()).limit(limit))
    return [(delivery, str(name)) for delivery, name in rows]
