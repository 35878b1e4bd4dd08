"""Group codes (群活码): each scan is routed to the least-full active group of the code with
room, and the next group is opened when all are full — never above capacity, whatever the
concurrency.

How, on both backends, in the scan's one transaction (a new customer: six statements, Core,
no ORM load — ``repository_routing``):

1. The customer's scan row of the code is counted (``INSERT … ON CONFLICT DO UPDATE``,
   made if missing) and so locked: two scans of one customer run one after the other, so
   the second finds the group the first chose (a customer scanning twice gets the group
   they are in). One statement reads the customer's member rows in the code's groups.
2. A seat is one statement: the least-full active group with room (the first entry of the
   partial routing index) gets ``member_count = member_count + 1`` on condition that it is
   still active and under capacity. On PostgreSQL the candidate is picked ``FOR NO KEY
   UPDATE SKIP LOCKED``: concurrent scans take different groups instead of queueing on the
   least-full row. SQLite runs one writer at a time (the writer turn of
   ``kit.db.run_in_transaction``).
3. No seat (no group with room, or on PostgreSQL every one busy): the code's row is locked
   (``FOR NO KEY UPDATE``), and the candidates are tried again least full first, each with a
   conditional seat UPDATE that waits for a concurrent seat-taker of the same row and then
   re-checks the condition; only if none has room is one group opened with this scan's
   seat in it — or ``no_group_available`` (409) if the code may not open groups.
4. The member row (a past row of that group made current again, else a new one), the
   timeline row and the scan row's group. On PostgreSQL the membership read of step 1 and
   steps 2 and 4 are one statement (``repository_routing.route_at_once``) whenever the
   customer is a member already or step 2 finds a seat: two round trips a scan; step 3
   and its writes (with the membership read again) run only when it did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from yutang.groups import repository
from yutang.groups import repository_routing as routing_repository
from yutang.groups.errors import GroupCodeClosed, NoGroupAvailable
from yutang.groups.models import Group, GroupCode, GroupStatus
from yutang.org import service as org_service

MAX_SEAT_ROUNDS = 20
"""Rounds of candidates tried under the code's lock (each failed seat means a group filled
meanwhile by a scan that did not need the lock)."""


@dataclass(frozen=True)
class Routed:
    group_id: int
    already_member: bool
    opened_new_group: bool


def capacity_of(session: Session, code: GroupCode) -> int:
    if code.capacity is not None:
        return code.capacity
    return org_service.get_store(session, store_id=code.store_id).group_capacity


def _seat_in_existing(session: Session, code_id: int) -> int | None:
    for _ in range(MAX_SEAT_ROUNDS):
        candidates = repository.routable_groups(session, code_id)
        if not candidates:
            return None
        for group_id in candidates:
            if repository.take_seat(session, group_id):
                return group_id
    return None


def open_group(session: Session, *, code: GroupCode, seated: int, at: datetime,
               actor_name: str) -> Group:
    """The code's next group (same store and owner, named by the pattern); the caller holds
    the code's lock. ``seated`` seats are taken in it from the start."""
    store = org_service.get_store(session, store_id=code.store_id)
    code.opened_groups += 1
    name = code.name_pattern.format_map({"name": code.name, "store": store.name,
                                         "n": code.opened_groups})[:100]
    group = Group(store_id=code.store_id, owner_user_id=code.owner_user_id, name=name,
                  capacity=capacity_of(session, code), member_count=seated,
                  status=GroupStatus.ACTIVE.value, code_id=code.id,
                  sequence=code.opened_groups, created_at=at, created_by=actor_name)
    session.add(group)
    session.flush()
    return group


def route_scan(session: Session, *, code: GroupCode, customer_id: int, at: datetime,
               actor_name: str) -> Routed:
    """Give the customer a seat in a group of ``code`` (see the module docstring)."""
    if not code.is_active:
        raise GroupCodeClosed(f"group code {code.id} is closed", code_id=code.id)
    session.flush()  # the statements below run on the connection, past the ORM
    scan_id = routing_repository.record_scan(session, code.id, customer_id, at)
    if session.get_bind().dialect.name == "postgresql":  # the rest: one round trip
        routed = routing_repository.route_at_once(
            session, code_id=code.id, scan_id=scan_id, customer_id=customer_id, at=at,
            actor_name=actor_name)
        if routed is not None:
            return Routed(routed[0], already_member=routed[1], opened_new_group=False)
    rows = routing_repository.code_memberships(session, code.id, customer_id)
    current = [row.group_id for row in rows if row.is_member]
    if current:
        routing_repository.set_scan_group(session, scan_id, min(current))
        return Routed(min(current), already_member=True, opened_new_group=False)
    opened = False
    group_id = routing_repository.seat_in_least_full(session, code.id)
    if group_id is None:
        repository.lock_code(session, code.id)
        group_id = _seat_in_existing(session, code.id)
        if group_id is None:
            if not code.auto_open:
                raise NoGroupAvailable(
                    "every group of this code is full and it may not open another",
                    code_id=code.id)
            group_id = open_group(session, code=code, seated=1, at=at,
                                  actor_name=actor_name).id
            opened = True
    past_row = next((row.member_id for row in rows if row.group_id == group_id), None)
    routing_repository.record_seated_join(session, scan_id=scan_id, group_id=group_id,
                                          customer_id=customer_id, past_row=past_row, at=at,
                                          actor_name=actor_name)
    return Routed(group_id, already_member=False, opened_new_group=opened)
