"""Merging and splitting customers: what the identity graph says, applied to the pool.

A merge folds customers into the oldest and moves everything of theirs to it; a split (a
guard rail fired, or an operator detached a value) recomputes the components of one
customer's values and gives each extra component a customer again — the one it was merged
from when that still exists. Orders and events follow the value that resolved them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.pool import graph_repository as graph
from yutang.pool.identity_graph import small_components
from yutang.pool.identity_rules import Strength
from yutang.pool.models import Customer, Identity, IdentityStatus, IdentityValue, MergeLog

PROFILE_FIELDS = ("name", "name_index", "phone", "phone_index", "address", "birthday",
                  "nickname")


@dataclass(frozen=True)
class Trigger:
    """What caused a resolution: written to the merge log and the audit log."""

    kind: str
    reference: str
    actor: Principal


def is_linkable(value: IdentityValue | graph.ValueNode) -> bool:
    """Strong and usable: a value that joins the records that carry it into one person."""
    return value.strength == Strength.STRONG and value.status == IdentityStatus.USABLE


def _snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "acquired_at": customer.acquired_at.isoformat(),
        "acquisition_channel_id": customer.acquisition_channel_id,
        "acquisition_staff_id": customer.acquisition_staff_id,
        "acquisition_code_id": customer.acquisition_code_id,
        "store_id": customer.store_id,
    }


def merge_customers(session: Session, customer_ids: Sequence[int], *, trigger: Trigger,
                    value_ids: Sequence[int]) -> Customer:
    """Fold the customers into the oldest; everything of theirs follows it."""
    ordered = sorted(set(customer_ids))
    # Locked before anything moves: an ingestion that share-locked one of them to attach an
    # event commits first, and the re-pointing below then sees (and moves) its event.
    customers = graph.customers_by_id(session, ordered, for_update=True)
    survivor, losers = customers[ordered[0]], [customers[i] for i in ordered[1:]]
    before = {str(customer.id): _snapshot(customer) for customer in customers.values()}
    earliest = min(customers.values(), key=lambda customer: (customer.acquired_at, customer.id))
    survivor.acquired_at = earliest.acquired_at
    survivor.acquisition_channel_id = earliest.acquisition_channel_id
    survivor.acquisition_staff_id = earliest.acquisition_staff_id
    survivor.acquisition_code_id = earliest.acquisition_code_id
    if survivor.store_id is None:
        survivor.store_id = earliest.store_id
    for loser in losers:
        for name in PROFILE_FIELDS:
            if getattr(survivor, name) is None and getattr(loser, name) is not None:
                setattr(survivor, name, getattr(loser, name))
        if survivor.gender == "unknown" and loser.gender != "unknown":
            survivor.gender = loser.gender
    session.flush()
    loser_ids = [loser.id for loser in losers]
    graph.move_to_survivor(session, loser_ids, survivor.id)
    for loser in losers:
        loser.merged_into_id = survivor.id
    session.add(MergeLog(
        action="merge", survivor_id=survivor.id, customers_before=ordered,
        customers_after=[survivor.id], value_ids=sorted(value_ids), trigger=trigger.kind,
        trigger_ref=trigger.reference[:128], actor_name=trigger.actor.name,
        details={"before": before},
    ))
    access_service.record_audit(
        session, actor=trigger.actor, action="customer.merge", entity_type="customer",
        entity_id=survivor.id, store_id=survivor.store_id,
        details={"merged": loser_ids, "trigger": trigger.kind, "reference": trigger.reference},
    )
    session.flush()
    return survivor


def split_customer(
    session: Session,
    customer_id: int,
    *,
    isolate: set[int],
    action: str,
    trigger: Trigger,
) -> list[Customer]:
    """Recompute the components of a customer's values; each extra one becomes a customer."""
    customer = session.get_one(Customer, customer_id)
    identities = list(graph.identities_of_customer(session, customer_id))
    nodes = graph.values_by_id(session, [i.value_id for i in identities if i.value_id])
    linkable = [i.value_id for i in identities
                if i.value_id and i.value_id not in isolate and is_linkable(nodes[i.value_id])]
    components = small_components(linkable, graph.links_among(session, linkable))
    components += [{value_id} for value_id in sorted(isolate) if value_id in nodes]
    if len(components) <= 1:
        return [customer]
    others = components[1:]
    origins = {i.value_id: i.origin_customer_id for i in identities if i.value_id}
    absorbed = {merged.id: merged for merged in graph.merged_customers_of(session, customer_id)}
    results = [customer]
    moved: set[int] = set()
    for component in others:
        component_origins = {origins[value_id] for value_id in component}
        candidates = sorted(set(absorbed) & component_origins)
        if candidates:
            target = absorbed.pop(candidates[0])
            target.merged_into_id = None
            for other in candidates[1:]:
                absorbed.pop(other).merged_into_id = target.id
        else:
            first_seen = min(i.created_at for i in identities if i.value_id in component)
            target = Customer(store_id=customer.store_id, acquired_at=first_seen)
            session.add(target)
        session.flush()
        graph.move_identity_values(session, source=customer_id, target=target.id,
                                   value_ids=component)
        graph.repoint_resolved(session, source=customer_id, target=target.id,
                               value_ids=component)
        moved |= component
        results.append(target)
    _share_refused_values(results[1:], identities, nodes, session)
    for result in results:
        refresh_acquisition(session, result)
    session.add(MergeLog(
        action=action, survivor_id=customer_id, customers_before=[customer_id],
        customers_after=[result.id for result in results], value_ids=sorted(moved | isolate),
        trigger=trigger.kind, trigger_ref=trigger.reference[:128],
        actor_name=trigger.actor.name, details={"components": len(components)},
    ))
    access_service.record_audit(
        session, actor=trigger.actor, action=f"customer.{action}", entity_type="customer",
        entity_id=customer_id, store_id=customer.store_id,
        details={"into": [result.id for result in results], "trigger": trigger.kind,
                 "reference": trigger.reference},
    )
    session.flush()
    return results


def _share_refused_values(targets: Sequence[Customer], identities: Sequence[Identity],
                          nodes: dict[int, IdentityValue], session: Session) -> None:
    """A shared value stays on every customer whose values it was linked with."""
    shared = [i for i in identities if i.value_id and nodes[i.value_id].status
              == IdentityStatus.SHARED.value]
    if not shared:
        return
    for identity in shared:
        assert identity.value_id is not None
        neighbours = {other for _, _, other in graph.neighbour_classes(session, identity.value_id)}
        for target in targets:
            target_values = {i.value_id for i in graph.identities_of_customer(session, target.id)}
            if neighbours & target_values and identity.value_id not in target_values:
                session.add(Identity(
                    customer_id=target.id, kind=identity.kind, scope=identity.scope,
                    value_index=identity.value_index, value=identity.value,
                    value_id=identity.value_id, origin_customer_id=identity.origin_customer_id,
                    source=identity.source, created_at=identity.created_at,
                ))
    session.flush()


def refresh_acquisition(session: Session, customer: Customer) -> None:
    """First touch = the earliest of the customer's own and those merged into it."""
    own = original_acquisition(session, customer)
    candidates = [own] + [_snapshot(merged)
                          for merged in graph.merged_customers_of(session, customer.id)]
    earliest = min(candidates, key=lambda snap: snap["acquired_at"])
    customer.acquired_at = datetime.fromisoformat(earliest["acquired_at"])
    customer.acquisition_channel_id = earliest["acquisition_channel_id"]
    customer.acquisition_staff_id = earliest.get("acquisition_staff_id")
    customer.acquisition_code_id = earliest.get("acquisition_code_id")


def original_acquisition(session: Session, customer: Customer) -> dict[str, Any]:
    first_merge = session.scalars(
        select(MergeLog)
        .where(MergeLog.survivor_id == customer.id, MergeLog.action == "merge")
        .order_by(MergeLog.id)
        .limit(1)
    ).first()
    if first_merge is not None:
        snapshot: dict[str, Any] = first_merge.details["before"][str(customer.id)]
        return snapshot
    return _snapshot(customer)


def detach_identity(session: Session, *, actor: Principal, customer: Customer,
                    identity: Identity, reason: str) -> list[Customer]:
    """An operator's unmerge: the value stops linking and the customer splits around it."""
    if identity.value_id is None:
        return [customer]
    value = session.get_one(IdentityValue, identity.value_id)
    value.status = IdentityStatus.DETACHED.value
    value.status_reason = reason[:200]
    session.flush()
    return split_customer(session, customer.id, isolate={value.id}, action="unmerge",
                          trigger=Trigger("operator", f"identity:{identity.id}", actor))
