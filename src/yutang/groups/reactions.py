"""What groups does when the pool commits events: the fast path of ``yutang groups sync``.

``join_group``/``leave_group``/``message``/``red_packet_claim`` events just stored are applied
right after the pool's commit, in their own transaction (see :mod:`yutang.kit.signals`). A
batch without group events costs nothing (the signal carries the batch's event types). A
missed call is caught up by the sweep (``yutang groups sync``) from its durable cursor;
receipts make applying an event twice change nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from yutang.groups import sync
from yutang.kit.db import run_in_transaction
from yutang.kit.signals import subscribe
from yutang.pool.signals import EVENTS_STORED, StoredEvents


def apply_group_events(factory: sessionmaker[Session], stored: StoredEvents) -> None:
    if not stored.holds_any(sync.EVENT_TYPES):  # most batches hold no group event
        return
    run_in_transaction(factory, lambda session: sync.apply_stored(session, stored.event_ids))


def install() -> None:
    """Subscribe the reaction (idempotent; the app and the CLI call it at start)."""
    subscribe(EVENTS_STORED, apply_group_events)
