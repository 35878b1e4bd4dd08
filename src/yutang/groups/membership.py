"""Joining and leaving a group: the member row, the member count and the timeline, together.

A join that routing or an operator asks for takes a seat first (one conditional UPDATE, never
above capacity); a join that already happened in WeChat (a pool event) is recorded as it is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from yutang.groups import repository
from yutang.groups.errors import GroupClosed, GroupFull
from yutang.groups.models import (
    Group,
    GroupMember,
    GroupMemberChange,
    GroupStatus,
    MembershipSource,
    MemberStatus,
)


def is_member(session: Session, group: Group, customer_id: int) -> bool:
    row = repository.member_row(session, group.id, customer_id)
    return row is not None and row.status == MemberStatus.MEMBER.value


def seat(session: Session, group: Group) -> None:
    """Take a seat in ``group`` for a join asked of us: 409 if it is closed or full."""
    if group.status in (GroupStatus.DISMISSED.value, GroupStatus.MERGED.value):
        raise GroupClosed(f"group {group.id} is {group.status}", group_id=group.id)
    # An operator may add someone to a dead group by hand; routing never sends anyone there.
    if not repository.take_seat(session, group.id,
                                statuses=(GroupStatus.ACTIVE.value, GroupStatus.DEAD.value)):
        raise GroupFull(f"group {group.id} is full", group_id=group.id, capacity=group.capacity)


def join(session: Session, *, group: Group, customer_id: int, at: datetime,
         source: MembershipSource, seated: bool, event_id: int | None = None,
         actor_name: str = "") -> bool:
    """Record the customer as a member from ``at``; ``seated``: the caller took the seat
    (else the count simply goes up: it happened). False if they were a member already (a
    seat taken for them is given back)."""
    row = repository.member_row(session, group.id, customer_id)
    if row is not None and row.status == MemberStatus.MEMBER.value:
        if seated:
            repository.change_member_count(session, group.id, -1)
        return False
    if not seated:
        repository.change_member_count(session, group.id, +1)
    if row is None:
        session.add(GroupMember(group_id=group.id, customer_id=customer_id,
                                customer_key=customer_id, status=MemberStatus.MEMBER.value,
                                first_joined_at=at, joined_at=at, source=source.value))
    else:
        row.status, row.joined_at, row.left_at = MemberStatus.MEMBER.value, at, None
        row.source = source.value
    session.add(GroupMemberChange(group_id=group.id, customer_id=customer_id, kind="joined",
                                  at=at, source=source.value, event_id=event_id,
                                  actor_name=actor_name))
    session.flush()
    return True


def leave(session: Session, *, group: Group, customer_id: int, at: datetime,
          source: MembershipSource, event_id: int | None = None, actor_name: str = "") -> bool:
    """Record that the customer left at ``at``; False if they were not a member."""
    row = repository.member_row(session, group.id, customer_id)
    if row is None or row.status != MemberStatus.MEMBER.value:
        return False
    row.status, row.left_at = MemberStatus.LEFT.value, at
    repository.change_member_count(session, group.id, -1)
    session.add(GroupMemberChange(group_id=group.id, customer_id=customer_id, kind="left",
                                  at=at, source=source.value, event_id=event_id,
                                  actor_name=actor_name))
    session.flush()
    return True


def refresh_count(session: Session, group: Group) -> int:
    session.refresh(group, ["member_count"])
    return group.member_count
