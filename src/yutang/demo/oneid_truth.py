"""Planted OneID truth: persons whose identities arrive apart and must merge, and look-alikes
that must not.

- **Split persons** (must merge): some persons' identity from a second channel (their Taobao
  id, unionid, …) is left out of the bulk load. After it, an event carrying only that
  identity arrives (OneID opens a new customer record for it), then an event carrying it with
  the person's phone (OneID merges the two records).
- **Shared devices** (must not merge): families and store kiosks, two to four persons on one
  ``device_id``, a weak kind.
- **The front-desk phone** (must not merge): some persons also carry the store's front-desk
  number ``13800000000``, a placeholder.
- **Trap events**: a shared device with one holder's phone, the front-desk phone with one
  person's identity; neither may fuse anyone.

The true person of every identity is the person of the customer record it first arrived on
(``identity.origin_customer_id``): a bulk-loaded customer is its own person (plan index + 1);
planted truth ``oneid.records`` maps each record OneID opened to its person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.demo.customers import AcquisitionWindow, CustomerPlan, IdentityGroup, IdentityPlan
from yutang.demo.draws import IntegerArray
from yutang.kit.crypto import get_protector
from yutang.pool.identity_rules import normalize_value
from yutang.pool.ingest_schemas import MAX_EVENTS_PER_CALL
from yutang.pool.ingestion import ingest_events
from yutang.pool.models import Identity, IdentityKind
from yutang.pool.oneid import OneIdPolicy

SPLIT_SHARE = 0.02
MAX_SPLITS = 200
"""Each planted merge goes through OneID one event at a time: a bounded number."""
DEVICE_SHARE = 0.01
FRONT_DESK_SHARE = 0.005
MAX_TRAPS = 200
FRONT_DESK_PHONE = "13800000000"
FRONT_DESK_SOURCE = "store-front-desk"
MIN_LOOK_ALIKES = 4
"""Even a small demo has a household on one device and a few front-desk registrations."""
DEVICE_GROUP = "shared_device"
FRONT_DESK_GROUP = "front_desk_phone"
TRUTH = "oneid"
STAGE = "OneID events"


@dataclass(frozen=True)
class Split:
    person: int
    """Plan index of the person."""
    kind: IdentityKind
    scope: str
    value: str
    seen_at: int
    """UTC seconds: when the identity was picked up."""


@dataclass(frozen=True)
class OneIdPlan:
    splits: list[Split]
    device_holders: IntegerArray
    """Plan indexes of the persons on a shared device."""
    front_desk_holders: IntegerArray

    @property
    def counts(self) -> dict[str, int]:
        return {"splits": len(self.splits), "shared_device_holders": len(self.device_holders),
                "front_desk_holders": len(self.front_desk_holders)}


def plan_oneid(
    rng: np.random.Generator,
    customers: CustomerPlan,
    identities: IdentityPlan,
    window: AcquisitionWindow,
) -> tuple[IdentityPlan, OneIdPlan]:
    """The identities the bulk load writes (without the split ones, with the look-alikes),
    and what is replayed through OneID after it."""
    groups = list(identities.groups)
    splits, groups = _withhold(rng, customers.count, groups)
    device = _shared_devices(rng, customers, window)
    front_desk = _front_desk(rng, customers)
    plan = OneIdPlan(splits=splits, device_holders=device.customer,
                     front_desk_holders=front_desk.customer)
    return IdentityPlan(groups=[*groups, device, front_desk], holders=identities.holders), plan


def _withhold(
    rng: np.random.Generator, count: int, groups: list[IdentityGroup]
) -> tuple[list[Split], list[IdentityGroup]]:
    """Pick persons holding a strong identity besides their phone; take one such identity
    (their first by group order) out of the bulk groups."""
    others = [group for group in groups if group.kind is not IdentityKind.PHONE]
    holder_of = np.full(count, -1, dtype=np.int64)
    for number, group in reversed(list(enumerate(others))):
        holder_of[group.customer] = number
    candidates = np.flatnonzero(holder_of >= 0)
    wanted = min(MAX_SPLITS, int(count * SPLIT_SHARE), len(candidates))
    chosen = np.sort(rng.choice(candidates, size=wanted, replace=False))
    splits: list[Split] = []
    kept: list[IdentityGroup] = [group for group in groups if group.kind is IdentityKind.PHONE]
    for number, group in enumerate(others):
        persons = chosen[holder_of[chosen] == number]
        taken = np.isin(group.customer, persons)
        for position in np.flatnonzero(taken).tolist():
            splits.append(Split(person=int(group.customer[position]), kind=group.kind,
                                scope=group.scope, value=group.values[position],
                                seen_at=int(group.created_at[position])))
        keep = ~taken
        kept.append(replace(
            group, customer=group.customer[keep],
            values=[value for value, flag in zip(group.values, keep.tolist(), strict=True)
                    if flag],
            sources=[source for source, flag in zip(group.sources, keep.tolist(), strict=True)
                     if flag],
            created_at=group.created_at[keep]))
    splits.sort(key=lambda split: split.person)
    return splits, kept


def _shared_devices(
    rng: np.random.Generator, customers: CustomerPlan, window: AcquisitionWindow
) -> IdentityGroup:
    """Households and kiosks: runs of two to four persons of one store on one device."""
    holders = _some(rng, customers.count, DEVICE_SHARE)
    holders = holders[np.argsort(customers.store[holders], kind="stable")]
    sizes = rng.integers(2, 5, len(holders) // 2 + 1)
    device_of = np.repeat(np.arange(len(sizes)), sizes)[: len(holders)]
    tokens = rng.integers(0, 16**12, len(sizes), dtype=np.int64)
    names = [f"DEV-{token:012X}" for token in tokens.tolist()]
    order = np.argsort(holders, kind="stable")
    seen = customers.acquired_at[holders] + (
        rng.random(len(holders)) * (window.end - customers.acquired_at[holders]) * 0.5
    ).astype(np.int64)
    return IdentityGroup(
        name=DEVICE_GROUP, kind=IdentityKind.DEVICE_ID, scope="",
        customer=holders[order], values=[names[device] for device in device_of[order]],
        sources=["app"] * len(holders), created_at=seen[order])


def _some(rng: np.random.Generator, count: int, share: float) -> IntegerArray:
    """A sorted sample of persons: ``share`` of them, at least ``MIN_LOOK_ALIKES``."""
    wanted = min(count, max(MIN_LOOK_ALIKES, round(count * share)))
    chosen: IntegerArray = np.sort(rng.choice(count, size=wanted, replace=False))
    return chosen


def _front_desk(rng: np.random.Generator, customers: CustomerPlan) -> IdentityGroup:
    """Persons a cashier registered with the store's front-desk number."""
    holders = _some(rng, customers.count, FRONT_DESK_SHARE)
    return IdentityGroup(
        name=FRONT_DESK_GROUP, kind=IdentityKind.PHONE, scope="", customer=holders,
        values=[FRONT_DESK_PHONE] * len(holders), sources=[FRONT_DESK_SOURCE] * len(holders),
        created_at=customers.acquired_at[holders])


# --- replay through OneID, after the bulk load ---------------------------------------------


def replay(
    session: Session,
    *,
    plan: OneIdPlan,
    customers: CustomerPlan,
    identities: IdentityPlan,
    actor: Principal,
    policy: OneIdPolicy,
    observation_end: int,
    progress: Callable[[str, int, int], None],
) -> dict[str, Any]:
    """Ingest the planted events; returns the planted truth (records opened → persons)."""
    arrivals = [_event(f"demo-oneid-arrive-{number}", "view", split.seen_at,
                       {split.kind.value: _value(split.kind, split.scope, split.value)})
                for number, split in enumerate(plan.splits)]
    traps = list(_traps(plan, customers, identities, observation_end))
    total = 2 * len(arrivals) + len(traps)
    _ingest(session, arrivals, actor, policy)
    progress(STAGE, len(arrivals), total)
    records = {
        str(_holder(session, split)): split.person + 1 for split in plan.splits
    }
    bridges = [
        _event(f"demo-oneid-bridge-{number}", "pay", max(split.seen_at, observation_end - 3600),
               {"phone": customers.phones[split.person],
                split.kind.value: _value(split.kind, split.scope, split.value)})
        for number, split in enumerate(plan.splits)]
    _ingest(session, [*bridges, *traps], actor, policy)
    progress(STAGE, total, total)
    return {"records": records, **plan.counts,
            "person_of_identity": "the person of identity.origin_customer_id: records[id] "
            "for the records listed, else that customer id itself"}


def _traps(
    plan: OneIdPlan, customers: CustomerPlan, identities: IdentityPlan, at: int
) -> Iterator[dict[str, Any]]:
    for number, person in enumerate(plan.device_holders[:MAX_TRAPS].tolist()):
        device = _value_of(identities, DEVICE_GROUP, person)
        yield _event(f"demo-oneid-device-{number}", "view", at - 1800,
                     {"device_id": device, "phone": customers.phones[person]})
    unionid_group = _group(identities, IdentityKind.WECHAT_UNIONID.value)
    unionids = dict(zip(unionid_group.customer.tolist(), unionid_group.values, strict=True))
    trapped = [person for person in plan.front_desk_holders.tolist() if person in unionids]
    for number, person in enumerate(trapped[:MAX_TRAPS]):
        yield _event(f"demo-oneid-front-desk-{number}", "pay", at - 900,
                     {"phone": FRONT_DESK_PHONE, "wechat_unionid": unionids[person]})


def _group(identities: IdentityPlan, name: str) -> IdentityGroup:
    return next(group for group in identities.groups if group.name == name)


def _value_of(identities: IdentityPlan, group_name: str, person: int) -> str:
    group = _group(identities, group_name)
    position = int(np.searchsorted(group.customer, person))
    return group.values[position]


def _value(kind: IdentityKind, scope: str, value: str) -> str | dict[str, str]:
    return {"value": value, "scope": scope} if scope else value


def _event(event_id: str, kind: str, seconds: int, carried: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind,
            "occurred_at": datetime.fromtimestamp(seconds, UTC).isoformat(),
            "identities": carried, "properties": {"planted": "oneid"}}


def _ingest(session: Session, events: Sequence[dict[str, Any]], actor: Principal,
            policy: OneIdPolicy) -> None:
    for start in range(0, len(events), MAX_EVENTS_PER_CALL):
        batch = events[start:start + MAX_EVENTS_PER_CALL]
        result = ingest_events(session, actor=actor, events=batch, policy=policy)
        if result.rejected:
            raise RuntimeError(f"planted OneID events were rejected: {result.rejected[:3]}")


def _holder(session: Session, split: Split) -> int:
    """The customer record OneID opened for a split identity."""
    index = get_protector().blind_index(normalize_value(split.kind, split.value),
                                        split.kind.value)
    holder = session.scalar(select(Identity.customer_id).where(
        Identity.value_index == index, Identity.kind == split.kind.value,
        Identity.scope == split.scope))
    if holder is None:
        raise RuntimeError("a planted identity did not reach the pool")
    return int(holder)
