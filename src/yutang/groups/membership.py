"""Joining and leaving a group: the member row, the member count and the timeline, together.

A join that routing or an operator asks for takes a seat first (one conditional UPDATE, never
above capacity); a join that already happened in WeChat (a pool event) is recorded as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
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


class MemberBook:
    """The member rows and count changes of many joins and leaves applied together (a sync
    batch): each (group, customer) row is read once for the batch, in one statement, and each
    group's count is written once, by ``settle``."""

    def __init__(self, session: Session, pairs: Iterable[tuple[int, int]]) -> None:
        self._session = session
        self._rows: dict[tuple[int, int], GroupMember | None] = dict(
            repository.member_rows(session, pairs))
        self._deltas: dict[int, int] = defaultdict(int)

    def row(self, group_id: int, customer_id: int) -> GroupMember | None:
        pair = (group_id, customer_id)
        if pair not in self._rows:  # a group opened during the batch
            self._rows[pair] = repository.member_row(self._session, group_id, customer_id)
        return self._rows[pair]

    def remember(self, row: GroupMember) -> None:
        self._rows[(row.group_id, row.customer_id)] = row

    def change_count(self, group_id: int, delta: int) -> None:
        self._deltas[group_id] += delta

    def settle(self) -> None:
        """Write each group's count change, and the rows."""
        for group_id, delta in sorted(self._deltas.items()):
            if delta:
                repository.change_member_count(self._session, group_id, delta)
        self._deltas.clear()
        self._session.flush()


def _member_row(session: Session, book: MemberBook | None, group_id: int,
                customer_id: int) -> GroupMember | None:
    return (book.row(group_id, customer_id) if book is not None
            else repository.member_row(session, group_id, customer_id))


def _change_count(session: Session, book: MemberBook | None, group_id: int,
                  delta: int) -> None:
    if book is not None:
        book.change_count(group_id, delta)
    else:
        repository.change_member_count(session, group_id, delta)


def join(session: Session, *, group: Group, customer_id: int, at: datetime,
         source: MembershipSource, seated: bool, event_id: int | None = None,
         actor_name: str = "", book: MemberBook | None = None) -> bool:
    """Record the customer as a member from ``at``; ``seated``: the caller took the seat
    (else the count simply goes up: it happened). False if they were a member already (a
    seat taken for them is given back). With a ``book``, the count is written when it
    settles."""
    row = _member_row(session, book, group.id, customer_id)
    if row is not None and row.status == MemberStatus.MEMBER.value:
        if seated:
            _change_count(session, book, group.id, -1)
        return False
    if not seated:
        _change_count(session, book, group.id, +1)
    if row is None:
        row = GroupMember(group_id=group.id, customer_id=customer_id,
                          customer_key=customer_id, status=MemberStatus.MEMBER.value,
                          first_joined_at=at, joined_at=at, source=source.value)
        session.add(row)
        if book is not None:
            book.remember(row)
    else:
        row.status, row.joined_at, row.left_at = MemberStatus.MEMBER.value, at, None
        row.source = source.value
    session.add(GroupMemberChange(group_id=group.id, customer_id=customer_id, kind="joined",
                                  at=at, source=source.value, event_id=event_id,
                                  actor_name=actor_name))
    if book is None:
        session.flush()
    return True


def leave(session: Session, *, group: Group, customer_id: int, at: datetime,
          source: MembershipSource, event_id: int | None = None, actor_name: str = "",
          book: MemberBook | None = None) -> bool:
    """Record that the customer left at ``at``; False if they were not a member. With a
    ``book``, the count is written when it settles."""
    row = _member_row(session, book, group.id, customer_id)
    if row is None or row.status != MemberStatus.MEMBER.value:
        return False
    row.status, row.left_at = MemberStatus.LEFT.value, at
    _change_count(session, book, group.id, -1)
    session.add(GroupMemberChange(group_id=group.id, customer_id=customer_id, kind="left",
                                  at=at, source=source.value, event_id=event_id,
                                  actor_name=actor_name))
    if book is None:
        session.flush()
    return True


def refresh_count(session: Session, group: Group) -> int:
    session.refresh(group, ["member_count"])
    return group.member_count
