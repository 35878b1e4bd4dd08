"""The demo merchant's groups (社群), with planted dead groups.

Per store, ``GROUPS_PER_STORE`` groups of 20-45 of the store's customers, owned by one of its
staff, created nine weeks before the observation end. Eight weeks of activity follow, written
as real pool events (``join_group``, ``message``, ``leave_group``, ``red_packet_claim``) that
the groups' own sweep then applies; red-packet probes are sent two weeks before the end.
Each group gets a planted fate (the ``KINDS`` pattern, rotated per store):

- ``alive``: 25-60% of members active in the last four weeks, a probe fully claimed in 1-5
  minutes;
- ``alive_borderline``: just over 10% active, a probe fully claimed in 5.2-5.9 minutes;
- ``dead_probe``: lively, but the probe's packets are not all claimed, or the last one only
  after 6.5-9 minutes;
- ``dead_activity``: busy until five weeks ago, then under 10% active (no recent probe);
- ``dead_borderline``: one active member short of 10% over the last four weeks.

The dead-group rule (defaults of seed 002) is then run as of the observation end, and the ids
of the groups planted dead are kept in planted truth ``groups`` with the borderline-alive ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access.models import User
from yutang.access.roles import Principal, Role
from yutang.groups.dead_groups import mark_dead_groups
from yutang.groups.health import DEFAULT_RULE
from yutang.groups.models import Group, GroupProbe, GroupStatus
from yutang.groups.sync import sweep
from yutang.org.models import Store
from yutang.pool import event_repository
from yutang.pool.models import Customer

TRUTH = "groups"
GROUPS_PER_STORE = 6
KINDS = ("alive", "dead_probe", "alive_borderline", "dead_activity", "alive",
         "dead_borderline")
DEAD_KINDS = frozenset({"dead_probe", "dead_activity", "dead_borderline"})
PACKETS = 8


@dataclass
class GroupsPlanted:
    groups: int = 0
    members: int = 0
    events: int = 0
    dead_group_ids: list[int] = field(default_factory=list)
    borderline_alive_ids: list[int] = field(default_factory=list)
    detected_dead_ids: list[int] = field(default_factory=list)
    as_of: str = ""

    def as_truth(self) -> dict[str, Any]:
        return {"groups": self.groups, "members": self.members, "events": self.events,
                "dead_group_ids": self.dead_group_ids,
                "borderline_alive_ids": self.borderline_alive_ids, "as_of": self.as_of,
                "rule": {"probe_claim_minutes": DEFAULT_RULE.probe_claim_minutes,
                         "min_active_share_percent": DEFAULT_RULE.min_active_share_percent,
                         "window_weeks": DEFAULT_RULE.window_weeks}}


class _Events:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add(self, kind: str, customer_id: int, at: datetime, store_id: int,
            properties: dict[str, Any]) -> None:
        self.rows.append((f"demo-group:{len(self.rows)}", kind, at, at, customer_id, store_id,
                          None, properties, None))


def _owner(session: Session, store_id: int) -> User | None:
    users = session.scalars(select(User).where(User.store_id == store_id)
                            .order_by(User.id)).all()
    staff = [user for user in users if user.role == Role.STAFF.value] or list(users)
    return staff[0] if staff else None


def plant_groups(session: Session, *, actor: Principal, as_of: datetime,
                 seed: int) -> GroupsPlanted:
    rng = np.random.default_rng(seed + 2002)
    planted = GroupsPlanted(as_of=as_of.isoformat())
    events = _Events()
    created_at = as_of - timedelta(weeks=9)
    fates: dict[int, str] = {}
    everyone = list(session.scalars(select(Customer.id).where(
        Customer.merged_into_id.is_(None)).order_by(Customer.id)))
    for position, store in enumerate(session.scalars(select(Store).order_by(Store.id))):
        owner = _owner(session, store.id)
        pool = list(session.scalars(select(Customer.id).where(
            Customer.store_id == store.id, Customer.merged_into_id.is_(None))
            .order_by(Customer.id))) or everyone
        if owner is None or len(pool) < 20:
            continue
        for number in range(GROUPS_PER_STORE):
            kind = KINDS[(number + position) % len(KINDS)]
            size = int(rng.integers(20, min(45, len(pool)) + 1))
            members = [int(value) for value in rng.choice(pool, size=size, replace=False)]
            group = Group(store_id=store.id, owner_user_id=owner.id,
                          name=f"{store.name}福利{number + 1}群", capacity=store.group_capacity,
                          member_count=0, status=GroupStatus.ACTIVE.value,
                          created_at=created_at, created_by=actor.name)
            session.add(group)
            session.flush()
            fates[group.id] = kind
            planted.groups += 1
            planted.members += size
            _plant_group(session, rng, events, group, members, kind, as_of)
    inserted = event_repository.insert_new_events(session, events.rows)
    planted.events = len(inserted)
    position_: int | None = None
    while True:  # the groups' own sweep applies the events
        batch = sweep(session, now=as_of, after=position_)
        if batch.read == 0:
            break
        position_ = batch.last_event_id
    evaluation = mark_dead_groups(session, actor=actor, as_of=as_of)
    planted.detected_dead_ids = evaluation.dead_group_ids
    planted.dead_group_ids = sorted(gid for gid, kind in fates.items() if kind in DEAD_KINDS)
    planted.borderline_alive_ids = sorted(gid for gid, kind in fates.items()
                                          if kind == "alive_borderline")
    return planted


def _plant_group(session: Session, rng: np.random.Generator, events: _Events, group: Group,
                 members: list[int], kind: str, as_of: datetime) -> None:
    window_start = as_of - DEFAULT_RULE.window
    properties = {"group_id": group.id}
    for customer_id in members:
        joined = group.created_at + timedelta(hours=float(rng.uniform(1, 24 * 7)))
        events.add("join_group", customer_id, joined, group.store_id, properties)
    # Two members leave in week 3 (new and lost members show in the weekly health).
    leavers, staying = members[:2], members[2:]
    for customer_id in leavers:
        left = group.created_at + timedelta(days=float(rng.uniform(14, 20)))
        events.add("leave_group", customer_id, left, group.store_id, properties)
    count = len(staying)
    threshold = math.ceil(count * DEFAULT_RULE.min_active_share_percent / 100)
    if kind in ("alive", "dead_probe"):
        active = int(rng.integers(math.ceil(0.25 * count), math.floor(0.6 * count) + 1))
    elif kind == "alive_borderline":
        active = threshold  # the fewest active members that are not under the share
    elif kind == "dead_borderline":
        active = threshold - 1
    else:
        active = int(rng.integers(0, max(1, threshold - 1)))
    chosen = [int(value) for value in rng.choice(staying, size=active, replace=False)]
    # Earlier weeks (before the window): most members chat, whatever their fate.
    early = [int(value) for value in rng.choice(staying, size=max(1, count // 2),
                                                 replace=False)]
    for customer_id in early:
        at = group.created_at + timedelta(days=float(rng.uniform(8, 34)))
        if at < window_start:
            events.add("message", customer_id, at, group.store_id, properties)
    for customer_id in chosen:
        for _ in range(int(rng.integers(1, 4))):
            at = window_start + timedelta(hours=float(rng.uniform(1, 27 * 24)))
            events.add("message", customer_id, at, group.store_id, properties)
    if kind in ("dead_activity", "dead_borderline"):
        return
    sent = as_of - timedelta(days=float(rng.uniform(10, 14)))
    packets = min(PACKETS, len(chosen))
    probe = GroupProbe(group_id=group.id, sent_at=sent, packets=packets, claimed=0,
                       amount_fen=packets * 100, created_by="demo")
    session.add(probe)
    session.flush()
    if kind == "alive":
        last, claims = float(rng.uniform(1, 5)), packets
    elif kind == "alive_borderline":
        last, claims = float(rng.uniform(5.2, 5.9)), packets
    elif rng.random() < 0.5:
        last, claims = float(rng.uniform(2, 5)), max(1, packets - int(rng.integers(1, 4)))
    else:
        last, claims = float(rng.uniform(6.5, 9)), packets
    claimers = chosen[:claims]
    offsets = [*sorted(float(rng.uniform(0.2, last)) for _ in claimers[:-1]), last]
    for customer_id, minutes in zip(claimers, offsets, strict=True):
        events.add("red_packet_claim", customer_id, sent + timedelta(minutes=minutes),
                   group.store_id, {**properties, "probe_id": probe.id})
