"""Batch OneID over the whole graph: read every value and link, apply the fan-out guard and
label the components with the vectorised functions of ``identity_graph``, then compare with
the customers as they are — and, unless asked only to check, merge and split to match.

Incremental resolution keeps the pool equal to this result; a rebuild applies a changed
policy (weak kinds, the bound) to existing data, gives identities written without the graph
(bulk loads, data from before OneID) their nodes and links first (``graph_backfill``), and
checks that nothing drifted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.pool import graph_repository as graph
from yutang.pool import merging
from yutang.pool.graph_backfill import backfill_graph
from yutang.pool.identity_graph import batch_labels
from yutang.pool.merging import Trigger
from yutang.pool.models import (
    Identity,
    IdentityAlert,
    IdentityLink,
    IdentityStatus,
    IdentityValue,
)
from yutang.pool.oneid import OneIdPolicy


@dataclass(frozen=True)
class GraphExtract:
    value_ids: NDArray[np.int64]
    """Sorted value ids; arrays below index into it."""
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    value_class: NDArray[np.int64]
    linkable: NDArray[np.bool_]


def read_graph(session: Session, policy: OneIdPolicy) -> GraphExtract:
    values = session.execute(
        select(IdentityValue.id, IdentityValue.kind, IdentityValue.scope, IdentityValue.status)
        .order_by(IdentityValue.id)
    ).all()
    value_ids = np.fromiter((row[0] for row in values), dtype=np.int64, count=len(values))
    classes: dict[tuple[str, str], int] = {}
    value_class = np.fromiter(
        (classes.setdefault((row[1], row[2]), len(classes)) for row in values),
        dtype=np.int64, count=len(values))
    weak = {kind.value for kind in policy.weak_kinds}
    linkable = np.fromiter(
        (row[1] not in weak and row[3] == IdentityStatus.USABLE for row in values),
        dtype=np.bool_, count=len(values))
    links = session.execute(select(IdentityLink.value_a_id, IdentityLink.value_b_id)).all()
    pairs = np.array(links, dtype=np.int64).reshape(-1, 2)
    return GraphExtract(
        value_ids=value_ids,
        left=np.searchsorted(value_ids, pairs[:, 0]),
        right=np.searchsorted(value_ids, pairs[:, 1]),
        value_class=value_class,
        linkable=linkable,
    )


@dataclass
class RebuildPlan:
    """What the pool must change to equal the batch result."""

    persons: dict[int, int] = field(default_factory=dict)
    """value id → person (component) label, for usable strong values."""
    newly_shared: list[int] = field(default_factory=list)
    merges: list[list[int]] = field(default_factory=list)
    """Groups of customers that are one person."""
    splits: list[int] = field(default_factory=list)
    """Customers that hold more than one person."""
    identities_outside_graph: int = 0
    """Identities written without a graph node (bulk loads, data from before OneID)."""

    @property
    def differs(self) -> bool:
        return bool(self.newly_shared or self.splits or self.merges
                    or self.identities_outside_graph)


def plan_rebuild(session: Session, policy: OneIdPolicy) -> RebuildPlan:
    extract = read_graph(session, policy)
    labels, shared = batch_labels(len(extract.value_ids), extract.left, extract.right,
                                  extract.value_class, extract.linkable,
                                  policy.max_customers_per_value)
    usable = extract.linkable & ~shared
    plan = RebuildPlan(
        persons={int(value_id): int(label) for value_id, label, keep in
                 zip(extract.value_ids, labels, usable, strict=True) if keep},
    )
    plan.newly_shared = [int(value_id) for value_id in extract.value_ids[shared]]
    customers_of_person: dict[int, set[int]] = defaultdict(set)
    persons_of_customer: dict[int, set[int]] = defaultdict(set)
    holders = session.execute(select(Identity.value_id, Identity.customer_id)).all()
    live = graph.live_customers(session, {int(row[1]) for row in holders})
    for value_id, customer_id in holders:
        person = plan.persons.get(int(value_id)) if value_id is not None else None
        if person is None or customer_id not in live:
            continue
        customers_of_person[person].add(int(customer_id))
        persons_of_customer[int(customer_id)].add(person)
    plan.merges = sorted(sorted(customers) for customers in customers_of_person.values()
                         if len(customers) > 1)
    plan.splits = sorted(customer for customer, persons in persons_of_customer.items()
                         if len(persons) > 1)
    plan.identities_outside_graph = graph.count_identities_outside_graph(session)
    return plan


def apply_rebuild(session: Session, *, actor: Principal, policy: OneIdPolicy) -> RebuildPlan:
    """Make the pool equal the batch result: refuse newly shared values, split, then merge."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    graph.lock_graph(session)
    weak = {kind.value for kind in policy.weak_kinds}
    outside = graph.count_identities_outside_graph(session)
    if outside:
        backfill_graph(session, weak)
    graph.apply_strengths(session, weak)
    plan = plan_rebuild(session, policy)
    plan.identities_outside_graph = outside
    trigger = Trigger("rebuild", "oneid", actor)
    for value_id in plan.newly_shared:
        graph.set_value_status(session, value_id, IdentityStatus.SHARED.value,
                               f"shared by the rebuild (bound {policy.max_customers_per_value})")
        session.add(IdentityAlert(value_id=value_id, code="shared_value",
                                  details={"by": "rebuild"}))
    session.flush()
    for customer_id in plan.splits:
        merging.split_customer(session, customer_id, isolate=set(), action="split",
                               trigger=trigger)
    if plan.splits or plan.newly_shared:
        plan.merges = plan_rebuild(session, policy).merges  # splits may have changed them
    for customers in plan.merges:
        merging.merge_customers(session, customers, trigger=trigger, value_ids=[])
    return plan
