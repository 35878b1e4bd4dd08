"""What groups does when the pool commits events: the fast path of ``yutang groups sync``.

``join_group``/``leave_group``/``message``/``red_packet_claim`` events just stored are applied
right after the pool's commit, in their own transaction (see :mod:`yutang.kit.signals`). A
batch without group events costs one indexed read and writes nothing. A missed call is caught
up by the sweep (``yutang groups sync``) from its durable cursor; receipts make applying an
event twice change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from yutang.groups import sync
from yutang.kit.db import reading, run_in_transaction
from yutang.kit.signals import subscribe
from yutang.pool.signals import EVENTS_STORED


def apply_group_events(factory: sessionmaker[Session], event_ids: Sequence[str]) -> None:
    with reading(factory) as session:  # most batches hold no group event
        if not sync.has_group_events(session, event_ids):
            return
    run_in_transaction(factory, lambda session: sync.apply_stored(session, event_ids))


def install() -> None:
    """Subscribe the reaction (idempotent; the app and the CLI call it at start)."""
    subscribe(EVENTS_STORED, apply_group_events)
