"""Ingestion of events and orders in batches: validated one by one (a bad record never
rejects the good ones), idempotent by their keys, resolved to customers through OneID.

Events whose identifiers are already known to belong to one customer take a bulk path (a
handful of queries for the whole batch); the rest go through ``oneid.resolve`` one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import utcnow
from yutang.kit.db import reading
from yutang.kit.errors import DomainError
from yutang.kit.signals import emit_after_commit
from yutang.org import service as org_service
from yutang.pool import channels, event_repository, oneid
from yutang.pool import graph_repository as graph
from yutang.pool.errors import BatchTooLarge
from yutang.pool.ingest_schemas import (
    MAX_EVENTS_PER_CALL,
    BatchResult,
    EventIn,
    IdentityMap,
    Rejection,
    ScopedValue,
)
from yutang.pool.models import IdentityStatus
from yutang.pool.oneid import DEFAULT_POLICY, IdentifierInput, OneIdPolicy, PreparedValue, Trigger
from yutang.pool.signals import EVENTS_STORED, StoredEvents


def identifiers_from(identities: IdentityMap) -> list[IdentifierInput]:
    identifiers = []
    for kind, raw in identities.items():
        if type(raw) is ScopedValue:
            identifiers.append(IdentifierInput(kind, raw.value, raw.scope))
        else:
            identifiers.append(IdentifierInput(kind, str(raw)))
    return identifiers


def validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ())) or "record"
    return f"{location}: {first.get('msg', 'invalid')}"


@dataclass
class PendingRecord:
    """One validated record of a batch, on its way to a customer."""

    index: int
    reference: str
    """The record's own key (event id, ``source:external_order_id``) for the merge log."""
    trigger: str
    seen_at: datetime
    prepared: list[PreparedValue]
    store_id: int | None
    customer_id: int | None = None
    resolved_value_id: int | None = None


Record = TypeVar("Record", bound=PendingRecord)


@dataclass
class PendingEvent(PendingRecord):
    event: EventIn | None = None
    channel_id: int | None = None

    @property
    def state(self) -> str | None:
        """The channel code's ``state`` an attributing event carries."""
        if self.event is None or self.event.type not in channels.ATTRIBUTING_EVENTS:
            return None
        state = self.event.properties.get("state")
        return state if isinstance(state, str) and state else None


def _attach_channels(session: Session, pending: Sequence[PendingEvent]) -> None:
    codes = channels.codes_for_states(
        session, {item.state for item in pending if item.state is not None})
    for item in pending:
        code = codes.get(item.state or "")
        if code is not None:
            item.channel_id = code.channel_id
            if item.store_id is None:
                item.store_id = code.store_id


def _record_touches(session: Session, inserted: Sequence[PendingEvent]) -> None:
    contacts = [
        channels.Contact(customer_id=item.customer_id, state=item.state, at=item.seen_at,
                         kind=item.event.type, event_id=item.reference,
                         resolved_value_id=item.resolved_value_id)
        for item in inserted
        if item.state is not None and item.customer_id is not None and item.event is not None
    ]
    if contacts:
        channels.record_touches(session, contacts)


@dataclass
class PreparedEvents:
    """A batch validated and prepared (blind indexes computed) outside any transaction."""

    pending: list[PendingEvent]
    rejected: list[Rejection]
    stored_before: frozenset[str] = frozenset()
    """Event ids found stored already by ``screen_stored`` (a replay), before the writer turn."""


def prepare_events(events: Sequence[Mapping[str, Any]], *,
                   policy: OneIdPolicy = DEFAULT_POLICY) -> PreparedEvents:
    """Validate a batch of events and prepare their identifiers: pure CPU work, done before
    the write transaction so that concurrent requests overlap it (SQLite has one writer)."""
    if len(events) > MAX_EVENTS_PER_CALL:
        raise BatchTooLarge(
            f"at most {MAX_EVENTS_PER_CALL} events per call, got {len(events)}",
            limit=MAX_EVENTS_PER_CALL, received=len(events),
        )
    rejected: list[Rejection] = []
    pending: list[PendingEvent] = []
    for index, raw in enumerate(events):
        try:
            pending.append(_validate_event(index, raw, policy))
        except RecordRejected as rejection:
            rejected.append(rejection.rejection)
    return PreparedEvents(pending=pending, rejected=rejected)


def store_events(session: Session, *, actor: Principal, batch: PreparedEvents,
                 policy: OneIdPolicy = DEFAULT_POLICY) -> BatchResult:
    """Store a prepared batch; answers what was accepted, duplicated and rejected (why)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    named = any(item.event is not None and item.event.store is not None
                for item in batch.pending)
    stores = ({store.code: store.id for store in org_service.list_stores(session)}
              if named else {})
    rejected = list(batch.rejected)
    pending: list[PendingEvent] = []
    seen_ids: set[str] = set()
    duplicates = 0
    for item in batch.pending:
        try:
            _place_in_store(item, stores, actor)
        except RecordRejected as rejection:
            rejected.append(rejection.rejection)
            continue
        if item.reference in seen_ids:
            duplicates += 1
            continue
        seen_ids.add(item.reference)
        pending.append(item)
    rejected.sort(key=lambda rejection: rejection.index)
    pending = [item for item in pending if item.reference not in batch.stored_before]
    _attach_channels(session, pending)
    # Events of known customers go in first, outside the graph lock; the rest are resolved
    # under it (a merge there re-points the events just inserted) and go in after. Resolving
    # a known customer changes nothing, so only the others are checked for being stored
    # already (a replay must not change the graph); the insert skips every stored id anyway.
    unknown = resolve_known(session, pending)
    waiting = {item.index for item in unknown}
    inserted = _store(session, [item for item in pending if item.index not in waiting])
    stored = event_repository.existing_event_ids(session, [item.reference for item in unknown])
    unknown = [item for item in unknown if item.reference not in stored]
    resolve_unknown(session, unknown, actor, policy)
    inserted |= _store(session, unknown)
    duplicates += len(batch.stored_before & seen_ids) + len(pending) - len(inserted)
    if inserted:
        emit_after_commit(session, EVENTS_STORED, StoredEvents.of(
            (item.reference, item.event.type) for item in pending
            if item.reference in inserted and item.event is not None))
    return BatchResult(accepted=len(inserted), duplicates=duplicates, rejected=rejected)


def screen_stored(factory: sessionmaker[Session], batch: PreparedEvents) -> PreparedEvents:
    """The batch, with the ids of its events that are stored already: a plain read before the
    writer turn, so that a replayed batch costs the writers nothing (an event, once stored,
    stays in the log)."""
    with reading(factory) as session:
        stored = event_repository.existing_event_ids(
            session, [item.reference for item in batch.pending])
    return replace(batch, stored_before=frozenset(stored))


def _store(session: Session, pending: Sequence[PendingEvent]) -> set[str]:
    """Insert the events and record their touches; returns the ids of those that were new."""
    inserted = _insert_events(session, pending)
    _record_touches(session, [item for item in pending if item.reference in inserted])
    return inserted


def ingest_events(
    session: Session,
    *,
    actor: Principal,
    events: Sequence[Mapping[str, Any]],
    policy: OneIdPolicy = DEFAULT_POLICY,
) -> BatchResult:
    """Validate and store a batch of events in the caller's transaction."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    return store_events(session, actor=actor, batch=prepare_events(events, policy=policy),
                        policy=policy)


class RecordRejected(Exception):
    def __init__(self, index: int, code: str, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(index=index, code=code, message=message)


def _validate_event(index: int, raw: Mapping[str, Any], policy: OneIdPolicy) -> PendingEvent:
    if not isinstance(raw, Mapping):
        raise RecordRejected(index, "invalid_event", "an event must be a JSON object")
    try:
        event = EventIn.model_validate(raw)
    except ValidationError as error:
        raise RecordRejected(index, "invalid_event", validation_message(error)) from error
    try:
        prepared = oneid.prepare(identifiers_from(event.identities), policy)
    except DomainError as error:
        raise RecordRejected(index, error.code, error.message) from error
    return PendingEvent(index=index, reference=event.event_id, trigger="event",
                        seen_at=event.occurred_at, prepared=prepared, event=event,
                        store_id=None)


def _place_in_store(item: PendingEvent, stores: Mapping[str, int], actor: Principal) -> None:
    """The event's store: the one it names (which a store-scoped caller must own), else the
    caller's."""
    assert item.event is not None
    code = item.event.store
    store_id = None
    if code is not None:
        if code not in stores:
            raise RecordRejected(item.index, "store_not_found", f"no store with code {code!r}")
        store_id = stores[code]
    if actor.is_store_scoped and store_id not in (None, actor.store_id):
        raise RecordRejected(item.index, "store_not_found", f"no store with code {code!r}")
    item.store_id = store_id if store_id is not None else actor.store_id


def resolve_records(session: Session, pending: Sequence[PendingRecord], actor: Principal,
                    policy: OneIdPolicy) -> None:
    """Resolve a batch's records to customers (``resolve_known``, then ``resolve_unknown``),
    for records stored after both: a merge among the unknown ones may fold a customer that a
    known one was answered with, so the answers follow merges."""
    unknown = resolve_known(session, pending)
    resolve_unknown(session, unknown, actor, policy)
    if unknown:
        survivors = graph.survivors(session, {item.customer_id for item in pending
                                              if item.customer_id is not None})
        for item in pending:
            if item.customer_id is not None:
                item.customer_id = survivors[item.customer_id]


def resolve_known(session: Session, pending: Sequence[Record]) -> list[Record]:
    """Answer, in bulk, the records the graph already knows (known values held by one live
    customer, links in place), share-locking their customers (PostgreSQL) so a concurrent
    merge waits for what we attach to them and then moves it. Returns the other records, in
    order, their answers cleared: they need ``resolve_unknown``."""
    slow = _classify(session, pending)
    if not graph.is_postgresql(session):
        # SQLite: this runs in the writer's turn, so the graph read is the graph at commit,
        # and the same statement told which holders are merged.
        return slow
    slow_indexes = {item.index for item in slow}
    fast = [item for item in pending if item.index not in slow_indexes]
    return sorted([*slow, *_confirm_live(session, fast)], key=lambda item: item.index)


def resolve_unknown(session: Session, pending: Sequence[PendingRecord], actor: Principal,
                    policy: OneIdPolicy) -> None:
    """Resolve records through ``oneid.resolve_many``, which changes the graph (new values,
    links, merges) under the graph lock."""
    if not pending:
        return
    records = [
        oneid.RecordToResolve(prepared=item.prepared, seen_at=item.seen_at,
                              trigger=Trigger(item.trigger, item.reference, actor),
                              store_id=item.store_id)
        for item in pending
    ]
    oneid.resolve_many(session, records, policy)
    for item, record in zip(pending, records, strict=True):
        item.customer_id = record.customer_id
        item.resolved_value_id = record.resolved_value_id


def _confirm_live(session: Session, resolved: Sequence[Record]) -> list[Record]:
    """Share-lock the customers found in bulk; the records whose customer was merged
    meanwhile (their answers are cleared)."""
    owners = {item.customer_id for item in resolved if item.customer_id is not None}
    live = graph.lock_customers_shared(session, owners)
    stale = [item for item in resolved
             if item.customer_id is not None and item.customer_id not in live]
    for item in stale:
        item.customer_id = item.resolved_value_id = None
    return stale


def _classify(session: Session, pending: Sequence[Record]) -> list[Record]:
    """Resolve records whose every identifier is known and held by one customer, not merged
    as far as the graph read tells (on PostgreSQL ``_confirm_live`` checks that under a
    lock).

    Returns, in order, the records that need the full resolution (new values, new links, or
    values spread over several customers).
    """
    keys = {value.key for item in pending for value in item.prepared}
    known = graph.values_and_holders(session, keys)
    nodes, holders = known.nodes, known.holders
    merged = known.merged_holders or set()
    usable = IdentityStatus.USABLE.value
    slow: list[Record] = []
    pairs_needed: dict[int, set[tuple[int, int]]] = {}
    for item in pending:
        item.customer_id = item.resolved_value_id = None
        prepared = item.prepared
        if len(prepared) == 1:  # most events: one identifier
            node = nodes.get(prepared[0].key)
            if node is None:
                slow.append(item)
            elif node.strength == "strong" and node.status == usable:
                owners = holders.get(node.id, ())
                if len(owners) != 1 or not owners.isdisjoint(merged):
                    slow.append(item)
                else:
                    (item.customer_id,) = owners
                    item.resolved_value_id = node.id
            continue  # a weak or unusable value alone names nobody: the event stays anonymous
        if not prepared:
            continue
        if any(value.key not in nodes for value in prepared):
            slow.append(item)
            continue
        item_nodes = [nodes[value.key] for value in prepared]
        linkable = [node for node in item_nodes
                    if node.strength == "strong" and node.status == usable]
        if not linkable:
            continue  # nothing that names a person: the event stays anonymous
        owners = {owner for node in linkable for owner in holders.get(node.id, set())}
        if len(owners) != 1 or not owners.isdisjoint(merged):
            slow.append(item)
            continue
        (owner,) = owners
        if any(owner not in holders.get(node.id, set()) for node in item_nodes):
            slow.append(item)
            continue
        ids = sorted(node.id for node in linkable)
        pairs_needed[item.index] = {(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]}
        ranked = sorted(linkable, key=lambda node: (oneid.priority(node.kind), node.id))
        item.customer_id = owner
        item.resolved_value_id = ranked[0].id
    all_pairs = set().union(*pairs_needed.values()) if pairs_needed else set()
    linked = graph.existing_links(session, all_pairs)
    for item in pending:
        if item.index in pairs_needed and not pairs_needed[item.index] <= linked:
            item.customer_id = None
            item.resolved_value_id = None
            slow.append(item)
    slow.sort(key=lambda item: item.index)
    return slow


def _insert_events(session: Session, pending: Iterable[PendingEvent]) -> set[str]:
    """Insert, skipping any event id a concurrent call stored first; returns those inserted."""
    now = utcnow()
    rows = []
    for item in pending:
        event = item.event
        assert event is not None
        rows.append((event.event_id, event.type, event.occurred_at, now, item.customer_id,
                     item.store_id, item.channel_id, event.properties, item.resolved_value_id))
    return set(event_repository.insert_new_events(session, rows))
