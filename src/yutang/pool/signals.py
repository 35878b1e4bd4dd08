"""What the pool announces after commit (see :mod:`yutang.kit.signals`), for upper domains."""

from __future__ import annotations

EVENTS_STORED = "pool.events_stored"
"""Payload: the sorted ``event_id`` values of the events a call stored (duplicates left out)."""

ORDERS_CHANGED = "pool.orders_changed"
"""Payload: the ids of the orders a call created or moved on (status or transition times)."""
