"""Every query of the event store that ingestion runs per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from yutang.kit.bulk_insert import insert_new_rows
from yutang.kit.sql import in_list
from yutang.pool.models import Event

EVENT_COLUMNS = ("event_id", "type", "occurred_at", "received_at", "customer_id", "store_id",
                 "channel_id", "properties", "resolved_value_id")
"""The columns of a row given to ``insert_new_events``, in order."""


def existing_event_ids(session: Session, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` are stored already."""
    if not event_ids:
        return set()
    return set(session.scalars(select(Event.event_id).where(in_list(Event.event_id,
                                                                     event_ids))))


def insert_new_events(session: Session, rows: Sequence[Sequence[Any]]) -> list[str]:
    """Insert event rows (``EVENT_COLUMNS`` order), skipping event ids already stored (by a
    concurrent call); returns the event ids inserted."""
    table = Event.__table__
    assert isinstance(table, Table)
    inserted = insert_new_rows(session, table, EVENT_COLUMNS, rows, unique=["event_id"],
                               returning="event_id")
    return [str(event_id) for event_id in inserted]
