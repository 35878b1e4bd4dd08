"""OneID: resolve the identifiers records carry to customers — found, created, or merged
from several — in one pass over a whole batch of records.

A customer is a connected component of strong, usable identifier values over the links that
records create (docs/adr/0003-oneid.md). A batch is resolved with a handful of statements:
upsert its values, add its new links, check the fan-out guard on the values those links
touched, then label the components of (the batch's values + their current customers) with a
union-find and apply them: one existing customer → it; several → a merge; none → a new one.
Every function here runs inside the caller's transaction, holding the graph lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from itertools import combinations
from typing import NamedTuple

from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.kit.clock import ensure_utc, utcnow
from yutang.kit.crypto import DataProtector, get_protector
from yutang.pool import graph_repository as graph
from yutang.pool import merging
from yutang.pool.errors import UnknownIdentityKind
from yutang.pool.identity_graph import small_components
from yutang.pool.identity_rules import (
    DEFAULT_RULES,
    KindRule,
    Strength,
    ValueVerdict,
    judge_value,
    normalize_value,
)
from yutang.pool.merging import Trigger, is_linkable
from yutang.pool.models import (
    Customer,
    Identity,
    IdentityAlert,
    IdentityKind,
    IdentityStatus,
)

__all__ = ["Trigger", "is_linkable"]

KIND_PRIORITY = (
    IdentityKind.WECHAT_UNIONID,
    IdentityKind.WECOM_EXTERNAL_USERID,
    IdentityKind.MEMBER_CARD,
    IdentityKind.APP_USER_ID,
    IdentityKind.PHONE,
    IdentityKind.WECHAT_OPENID,
    IdentityKind.TAOBAO_ID,
    IdentityKind.JD_ID,
    IdentityKind.DOUYIN_ID,
    IdentityKind.DEVICE_ID,
)
"""Which of a record's values names the customer it resolves to (and re-points it later)."""


@dataclass(frozen=True)
class OneIdPolicy:
    """Which kinds are weak, and how widely a value may be shared before it stops linking."""

    weak_kinds: frozenset[IdentityKind] = frozenset({IdentityKind.DEVICE_ID})
    max_customers_per_value: int = 3

    def rule(self, kind: IdentityKind) -> KindRule:
        return self._rules[kind]

    @cached_property
    def _rules(self) -> dict[IdentityKind, KindRule]:
        return {
            kind: KindRule(kind=kind,
                           strength=Strength.WEAK if kind in self.weak_kinds else Strength.STRONG,
                           scoped=rule.scoped)
            for kind, rule in DEFAULT_RULES.items()
        }


DEFAULT_POLICY = OneIdPolicy()


class IdentifierInput(NamedTuple):
    kind: str
    value: str
    scope: str = ""


class PreparedValue(NamedTuple):
    """A record's identifier, validated, normalised, judged and blind-indexed."""

    kind: IdentityKind
    scope: str
    normalized: str
    value_index: str
    strength: Strength
    verdict: ValueVerdict
    key: graph.ValueKey
    """(kind, scope, value_index): the value's identity in the graph."""


@dataclass
class RecordToResolve:
    """One record (event, order, upsert, import row) and, once resolved, its customer."""

    prepared: Sequence[PreparedValue]
    seen_at: datetime
    trigger: Trigger
    store_id: int | None = None
    create_without_strong: bool = False
    """Create a customer even if no strong usable identifier names one (a customer upsert);
    an event with only a shared device or a placeholder phone stays anonymous instead."""
    customer_id: int | None = None
    resolved_value_id: int | None = None
    created: bool = False
    merged_customer_ids: list[int] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(kind, status) of each strong value recorded but not used to match anyone."""


@dataclass
class Resolution:
    customer: Customer | None
    resolved_value_id: int | None
    created: bool = False
    merged_customer_ids: list[int] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


_KINDS = {kind.value: kind for kind in IdentityKind}
_PRIORITY = {kind.value: rank for rank, kind in enumerate(KIND_PRIORITY)}


def parse_kind(kind: str) -> IdentityKind:
    found = _KINDS.get(kind)
    if found is None:
        known = ", ".join(item.value for item in IdentityKind)
        raise UnknownIdentityKind(f"unknown identity kind {kind!r} (known: {known})", kind=kind)
    return found


def prepare(identifiers: Iterable[IdentifierInput], policy: OneIdPolicy) -> list[PreparedValue]:
    """Validate kinds, normalise values, judge them and compute their blind indexes."""
    protector = get_protector()
    prepared: dict[graph.ValueKey, PreparedValue] = {}
    for identifier in identifiers:
        value = _prepare_one(identifier, policy, protector)
        prepared.setdefault(value.key, value)
    return list(prepared.values())


@lru_cache(maxsize=65_536)
def _prepare_one(identifier: IdentifierInput, policy: OneIdPolicy,
                 protector: DataProtector) -> PreparedValue:
    # Memoised: a pool's active customers send the same identifiers event after event, and
    # every event's identifiers are prepared (an unknown kind raises, and is not memoised).
    kind = parse_kind(identifier.kind)
    rule = policy.rule(kind)
    normalized = normalize_value(kind, identifier.value)
    scope = identifier.scope.strip() if rule.scoped else ""
    value_index = protector.blind_index(normalized, kind.value)
    key = (kind.value, scope, value_index)
    return PreparedValue(kind, scope, normalized, value_index, rule.strength,
                         judge_value(kind, normalized), key)


def priority(kind: str) -> int:
    return _PRIORITY[kind]


def upsert_values(
    session: Session, prepared: Sequence[PreparedValue], at: datetime
) -> dict[graph.ValueKey, graph.ValueNode]:
    """The graph nodes of ``prepared``, inserting (and reporting) the new ones."""
    unique = {value.key: value for value in prepared}
    known = graph.values_by_key(session, unique)
    missing = [value for key, value in unique.items() if key not in known]
    if missing:
        graph.insert_values_if_missing(session, [
            {
                "kind": value.kind.value, "scope": value.scope, "value_index": value.value_index,
                "value": value.normalized, "strength": value.strength.value,
                "status": (IdentityStatus.USABLE.value if value.verdict is ValueVerdict.USABLE
                           else value.verdict.value),
                "status_reason": None if value.verdict is ValueVerdict.USABLE
                else f"refused at ingestion: {value.verdict.value}",
                "first_seen_at": at, "updated_at": at,
            }
            for value in missing
        ])
        known = graph.values_by_key(session, unique)
        session.add_all(
            IdentityAlert(value_id=known[value.key].id, at=at, code=value.verdict.value,
                          details={"kind": value.kind.value})
            for value in missing if value.verdict is not ValueVerdict.USABLE
        )
    return known


def resolve(
    session: Session,
    *,
    identifiers: Sequence[IdentifierInput],
    trigger: Trigger,
    policy: OneIdPolicy = DEFAULT_POLICY,
    create_without_strong: bool = False,
    store_id: int | None = None,
    seen_at: datetime | None = None,
) -> Resolution:
    """The customer one record's identifiers belong to (see ``resolve_many``)."""
    record = RecordToResolve(
        prepared=prepare(identifiers, policy), seen_at=seen_at or utcnow(), trigger=trigger,
        store_id=store_id, create_without_strong=create_without_strong,
    )
    resolve_many(session, [record], policy)
    customer = session.get(Customer, record.customer_id) if record.customer_id else None
    return Resolution(customer=customer, resolved_value_id=record.resolved_value_id,
                      created=record.created, merged_customer_ids=record.merged_customer_ids,
                      refused=record.refused)


def resolve_many(session: Session, records: Sequence[RecordToResolve],
                 policy: OneIdPolicy = DEFAULT_POLICY) -> None:
    """Resolve every record to its customer, changing the pool as the graph says."""
    if not records:
        return
    graph.lock_graph(session)
    at = utcnow()
    nodes = upsert_values(session, [value for record in records for value in record.prepared],
                          at)
    values_of = [[nodes[value.key] for value in record.prepared] for record in records]
    refused_any = _link(session, records, values_of, policy, at)
    linkable_of = [[value for value in values if is_linkable(value)] for values in values_of]
    holders = graph.holders_of(session, {value.id for values in values_of for value in values})
    owners = _owners(session, holders, {value.id for values in linkable_of for value in values})
    components = _components(linkable_of, owners)
    customer_of_component = _apply_components(session, records, linkable_of, components)
    for record, values, linkable in zip(records, values_of, linkable_of, strict=True):
        record.refused = [(value.kind, value.status) for value in values
                          if value.strength == Strength.STRONG and not is_linkable(value)]
        if linkable:
            record.customer_id = customer_of_component[components[linkable[0].id]]
            ranked = sorted(linkable, key=lambda value: (priority(value.kind), value.id))
        elif record.create_without_strong and values:
            customer = Customer(store_id=record.store_id, acquired_at=ensure_utc(record.seen_at))
            session.add(customer)
            session.flush()
            record.customer_id, record.created = customer.id, True
            ranked = sorted(values, key=lambda value: (priority(value.kind), value.id))
        else:
            continue
        record.resolved_value_id = ranked[0].id
    if refused_any:
        holders = graph.holders_of(session, {value.id for values in values_of
                                             for value in values})
    else:  # a merge moved its losers' values to the survivor: follow it
        survivor_of = {loser: record.customer_id for record in records
                       for loser in record.merged_customer_ids if record.customer_id}
        if survivor_of:
            holders = {value_id: {survivor_of.get(customer, customer) for customer in customers}
                       for value_id, customers in holders.items()}
    _attach(session, records, values_of, holders, at)


def _link(session: Session, records: Sequence[RecordToResolve],
          values_of: Sequence[Sequence[graph.ValueNode]], policy: OneIdPolicy,
          at: datetime) -> bool:
    """Record the evidence; a value that now fans out too widely is refused and split off
    (answers whether any was)."""
    pairs: dict[tuple[int, int], RecordToResolve] = {}
    for record, values in zip(records, values_of, strict=True):
        linkable = [value for value in values if is_linkable(value)]
        for a, b in combinations(linkable, 2):
            pairs.setdefault((min(a.id, b.id), max(a.id, b.id)), record)
    if not pairs:
        return False
    new_pairs = set(pairs) - graph.existing_links(session, pairs)
    if not new_pairs:
        return False
    graph.insert_links(session, sorted(new_pairs), at)
    touched = sorted({value_id for pair in new_pairs for value_id in pair})
    fan_outs = graph.fan_outs(session, touched)
    nodes = {value.id: value for values in values_of for value in values}
    refused = False
    for value_id in touched:
        if fan_outs.get(value_id, 0) > policy.max_customers_per_value:
            record = next(pairs[pair] for pair in sorted(new_pairs) if value_id in pair)
            _refuse_shared(session, nodes[value_id], fan_outs[value_id], policy,
                           record.trigger, at)
            refused = True
    return refused


def _refuse_shared(session: Session, value: graph.ValueNode, fan_out: int,
                   policy: OneIdPolicy, trigger: Trigger, at: datetime) -> None:
    """Mark ``value`` shared (it stops linking) and split the customers it had joined."""
    value.status = IdentityStatus.SHARED.value
    graph.set_value_status(
        session, value.id, value.status,
        f"linked to {fan_out} values of one kind (bound {policy.max_customers_per_value})",
    )
    session.add(IdentityAlert(value_id=value.id, at=at, code="shared_value",
                              details={"kind": value.kind, "fan_out": fan_out,
                                       "bound": policy.max_customers_per_value}))
    session.flush()
    holders = graph.holders_of(session, [value.id]).get(value.id, set())
    for holder in sorted(graph.live_customers(session, holders)):
        merging.split_customer(session, holder, isolate=set(), action="split",
                               trigger=Trigger("guard", f"shared_value:{value.id}",
                                               trigger.actor))


def _owners(session: Session, holders: dict[int, set[int]],
            value_ids: set[int]) -> dict[int, set[int]]:
    """value id (of ``value_ids``) → the live customers holding it (following merges)."""
    held = {value_id: holders[value_id] for value_id in value_ids if value_id in holders}
    survivors = graph.survivors(session, {c for cs in held.values() for c in cs})
    return {value_id: {survivors[customer] for customer in customers}
            for value_id, customers in held.items()}


def _components(linkable_of: Sequence[Sequence[graph.ValueNode]],
                owners: dict[int, set[int]]) -> dict[int | str, int]:
    """Component number of every value id and every ``"c<customer id>"`` in the batch."""
    nodes: list[int | str] = []
    links: list[tuple[int | str, int | str]] = []
    for linkable in linkable_of:
        nodes.extend(value.id for value in linkable)
        links.extend((linkable[0].id, value.id) for value in linkable[1:])
    for value_id, customers in owners.items():
        for customer in customers:
            nodes.append(f"c{customer}")
            links.append((value_id, f"c{customer}"))
    return {node: number
            for number, group in enumerate(small_components(nodes, links)) for node in group}


def _apply_components(session: Session, records: Sequence[RecordToResolve],
                      linkable_of: Sequence[Sequence[graph.ValueNode]],
                      components: dict[int | str, int]) -> dict[int, int]:
    """Component → customer: the one it has, a merge of several, or a new one."""
    customers_in: dict[int, set[int]] = defaultdict(set)
    values_in: dict[int, set[int]] = defaultdict(set)
    for node, number in components.items():
        if isinstance(node, str):
            customers_in[number].add(int(node[1:]))
        else:
            values_in[number].add(node)
    records_in: dict[int, list[RecordToResolve]] = defaultdict(list)
    for record, linkable in zip(records, linkable_of, strict=True):
        if linkable:
            records_in[components[linkable[0].id]].append(record)
    result: dict[int, int] = {}
    new_customers: dict[int, Customer] = {}
    for number, members in records_in.items():
        first = members[0]
        customers = sorted(customers_in.get(number, set()))
        if len(customers) == 1:
            result[number] = customers[0]
        elif customers:
            survivor = merging.merge_customers(session, customers, trigger=first.trigger,
                                               value_ids=sorted(values_in[number]))
            result[number] = survivor.id
            first.merged_customer_ids = customers[1:]
        else:
            store_id = next((r.store_id for r in members if r.store_id is not None), None)
            new_customers[number] = Customer(
                store_id=store_id,
                acquired_at=min(ensure_utc(record.seen_at) for record in members),
            )
            first.created = True
    if new_customers:
        session.add_all(new_customers.values())
        session.flush()
        result.update({number: customer.id for number, customer in new_customers.items()})
    return result


def _attach(session: Session, records: Sequence[RecordToResolve],
            values_of: Sequence[Sequence[graph.ValueNode]], held: dict[int, set[int]],
            at: datetime) -> None:
    """Every value a record carried goes on the record's customer (once); ``held`` is who
    holds each value now."""
    wanted: dict[tuple[int, int], tuple[graph.ValueNode, str]] = {}
    for record, values in zip(records, values_of, strict=True):
        if record.customer_id is None:
            continue
        plain = {value.key: value.normalized for value in record.prepared}
        for value in values:
            if record.customer_id not in held.get(value.id, ()):
                wanted.setdefault((record.customer_id, value.id),
                                  (value, plain[(value.kind, value.scope, value.value_index)]))
    if wanted:
        graph.insert_identities(session, [
            {"customer_id": customer_id, "kind": value.kind, "scope": value.scope,
             "value_index": value.value_index, "value": plain_value, "value_id": value.id,
             "origin_customer_id": customer_id, "source": "oneid", "created_at": at}
            for (customer_id, _), (value, plain_value) in wanted.items()
        ])


def detach_identity(session: Session, *, actor: Principal, customer: Customer,
                    identity: Identity, reason: str) -> list[Customer]:
    """An operator's unmerge (see ``merging.detach_identity``), under the graph lock."""
    graph.lock_graph(session)
    return merging.detach_identity(session, actor=actor, customer=customer, identity=identity,
                                   reason=reason)
