"""Every query of the analytics package on operational data: the layering write-back only.

The write-back sets derived columns and leaves ``updated_at`` as it was (it is the extract's
high-water mark for customers: layers are not a change of the customer).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from yutang.org.models import Store
from yutang.pool.models import Customer

LAYER_COLUMNS = ("rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score",
                 "value_tier", "lifecycle_stage")


def current_layers(session: Session) -> list[tuple[Any, ...]]:
    """(id, the layer columns…) of every live customer."""
    statement = select(Customer.id, *(getattr(Customer, name) for name in LAYER_COLUMNS)) \
        .where(Customer.merged_into_id.is_(None))
    return [tuple(row) for row in session.execute(statement)]


def update_layers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of ``customer_id`` and the layer columns, in one executemany."""
    if not rows:
        return
    statement = (
        update(Customer.__table__)  # type: ignore[arg-type]
        .where(Customer.__table__.c.id == bindparam("customer_id"))
        .values({name: bindparam(f"new_{name}") for name in LAYER_COLUMNS}
                | {"updated_at": Customer.__table__.c.updated_at})
    )
    session.execute(statement, [
        {"customer_id": row["customer_id"]} | {f"new_{name}": row[name] for name in LAYER_COLUMNS}
        for row in rows
    ])


def stamp_layers_as_of(session: Session, *, as_of: date, acquired_before: datetime) -> None:
    session.execute(
        update(Customer)
        .where(Customer.merged_into_id.is_(None), Customer.acquired_at < acquired_before)
        .values(layers_as_of=as_of, updated_at=Customer.updated_at)
        .execution_options(synchronize_session=False)
    )


def store_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(Store.id).where(Store.code == code))


def store_code_by_id(session: Session, store_id: int) -> str | None:
    return session.scalar(select(Store.code).where(Store.id == store_id))
