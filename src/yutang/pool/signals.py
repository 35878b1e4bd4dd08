"""What the pool announces after commit (see :mod:`yutang.kit.signals`), for upper domains."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

EVENTS_STORED = "pool.events_stored"
"""Payload: :class:`StoredEvents`, the events a call stored (duplicates left out)."""

ORDERS_CHANGED = "pool.orders_changed"
"""Payload: a list of the ids of the orders a call created or moved on (status or transition
times); several calls in one transaction add up to one list."""


@dataclass(frozen=True)
class StoredEvents:
    """The events one call stored: their ids, and their types, so that a reaction can pass
    over a batch that holds none of the types it reacts to without reading anything."""

    event_ids: tuple[str, ...]
    """Sorted."""
    types: frozenset[str]

    @classmethod
    def of(cls, stored: Iterable[tuple[str, str]]) -> StoredEvents:
        """From (event id, type) pairs."""
        pairs = list(stored)
        return cls(event_ids=tuple(sorted(event_id for event_id, _ in pairs)),
                   types=frozenset(event_type for _, event_type in pairs))

    def __add__(self, other: StoredEvents) -> StoredEvents:
        """Both calls' events (one transaction that stored several batches)."""
        return StoredEvents(event_ids=tuple(sorted({*self.event_ids, *other.event_ids})),
                            types=self.types | other.types)

    def holds_any(self, types: Collection[str]) -> bool:
        return not self.types.isdisjoint(types)
