"""Ingestion of events and orders in batches: validated one by one (a bad record never
rejects the good ones), idempotent by their keys, resolved to customers through OneID.

Events whose identifiers are already known to belong to one customer take a bulk path (a
handful of queries for the whole batch); the rest go through ``oneid.resolve`` one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import ensure_utc, utcnow
from yutang.kit.errors import DomainError
from yutang.org import service as org_service
from yutang.pool import channels, oneid
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
from yutang.pool.models import Event, IdentityStatus
from yutang.pool.oneid import DEFAULT_POLICY, IdentifierInput, OneIdPolicy, PreparedValue, Trigger


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


def ingest_events(
    session: Session,
    *,
    actor: Principal,
    events: Sequence[Mapping[str, Any]],
    policy: OneIdPolicy = DEFAULT_POLICY,
) -> BatchResult:
    """Store a batch of events; answers what was accepted, duplicated and rejected (why)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    if len(events) > MAX_EVENTS_PER_CALL:
        raise BatchTooLarge(
            f"at most {MAX_EVENTS_PER_CALL} events per call, got {len(events)}",
            limit=MAX_EVENTS_PER_CALL, received=len(events),
        )
    stores = {store.code: store.id for store in org_service.list_stores(session)}
    rejected: list[Rejection] = []
    pending: list[PendingEvent] = []
    seen_ids: set[str] = set()
    duplicates = 0
    for index, raw in enumerate(events):
        try:
            item = _validate_event(index, raw, stores, policy, actor)
        except RecordRejected as rejection:
            rejected.append(rejection.rejection)
            continue
        if item.reference in seen_ids:
            duplicates += 1
            continue
        seen_ids.add(item.reference)
        pending.append(item)
    known = _existing_event_ids(session, [item.reference for item in pending])
    duplicates += sum(1 for item in pending if item.reference in known)
    pending = [item for item in pending if item.reference not in known]
    resolve_records(session, pending, actor, policy)
    _attach_channels(session, pending)
    inserted = _insert_events(session, pending)
    _record_touches(session, [item for item in pending if item.reference in inserted])
    duplicates += len(pending) - len(inserted)
    return BatchResult(accepted=len(inserted), duplicates=duplicates, rejected=rejected)


class RecordRejected(Exception):
    def __init__(self, index: int, code: str, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(index=index, code=code, message=message)


def _validate_event(index: int, raw: Mapping[str, Any], stores: Mapping[str, int],
                    policy: OneIdPolicy, actor: Principal) -> PendingEvent:
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
    store_id = None
    if event.store is not None:
        if event.store not in stores:
            raise RecordRejected(index, "store_not_found", f"no store with code {event.store!r}")
        store_id = stores[event.store]
    if actor.is_store_scoped and store_id not in (None, actor.store_id):
        raise RecordRejected(index, "store_not_found", f"no store with code {event.store!r}")
    return PendingEvent(index=index, reference=event.event_id, trigger="event",
                        seen_at=event.occurred_at, prepared=prepared, event=event,
                        store_id=store_id if store_id is not None else actor.store_id)


def _existing_event_ids(session: Session, event_ids: Sequence[str]) -> set[str]:
    if not event_ids:
        return set()
    return set(session.scalars(select(Event.event_id).where(Event.event_id.in_(event_ids))))


def resolve_records(session: Session, pending: Sequence[PendingRecord], actor: Principal,
                    policy: OneIdPolicy) -> None:
    """Resolve a batch's records to customers.

    When the graph already knows every record (known values, one live customer each, links
    in place), the answers are read in bulk with the customers share-locked. Otherwise the
    whole batch goes through ``oneid.resolve_many`` under the graph lock, so concurrent
    batches change the graph one at a time and no answer is left stale by a merge.
    """
    if graph.is_postgresql(session) and not _classify(session, pending) and not _confirm_live(
        session, pending
    ):
        return  # SQLite writers are serial anyway: one pass through resolve_many is cheaper
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


def _confirm_live(session: Session, resolved: Sequence[PendingRecord]) -> list[PendingRecord]:
    """Share-lock the customers found in bulk; records whose customer was merged meanwhile."""
    owners = {item.customer_id for item in resolved if item.customer_id is not None}
    live = graph.lock_customers_shared(session, owners)
    return [item for item in resolved if item.customer_id is not None
            and item.customer_id not in live]


def _classify(session: Session, pending: Sequence[PendingRecord]) -> list[PendingRecord]:
    """Resolve records whose every identifier is known and held by one live customer.

    Returns, in order, the records that need the full resolution (new values, new links, or
    values spread over several customers).
    """
    keys = {value.key for item in pending for value in item.prepared}
    nodes = graph.values_by_key(session, keys)
    holders = graph.holders_of(session, [node.id for node in nodes.values()])
    candidates = {customer for owners in holders.values() for customer in owners}
    live = graph.live_customers(session, candidates)
    slow: list[PendingRecord] = []
    pairs_needed: dict[int, set[tuple[int, int]]] = {}
    for item in pending:
        item.customer_id = item.resolved_value_id = None
        if not item.prepared:
            continue
        if any(value.key not in nodes for value in item.prepared):
            slow.append(item)
            continue
        item_nodes = [nodes[value.key] for value in item.prepared]
        linkable = [node for node in item_nodes
                    if node.strength == "strong" and node.status == IdentityStatus.USABLE]
        if not linkable:
            continue  # nothing that names a person: the event stays anonymous
        owners = {owner for node in linkable for owner in holders.get(node.id, set())}
        if len(owners) != 1 or not owners <= live:
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
        assert item.event is not None
        rows.append({
            "event_id": item.event.event_id,
            "type": item.event.type,
            "occurred_at": ensure_utc(item.event.occurred_at),
            "received_at": now,
            "customer_id": item.customer_id,
            "store_id": item.store_id,
            "channel_id": item.channel_id,
            "properties": item.event.properties,
            "resolved_value_id": item.resolved_value_id,
        })
    if not rows:
        return set()
    table = Event.__table__
    assert isinstance(table, Table)
    dialect = postgresql if graph.is_postgresql(session) else sqlite
    statement = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return {str(row[0]) for row in session.execute(statement, rows)}

