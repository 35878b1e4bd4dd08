"""Every query of groups. Store-scoped reads go through ``scoped_groups``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from yutang.access.models import User
from yutang.access.roles import Principal
from yutang.groups.models import (
    Group,
    GroupActivity,
    GroupCode,
    GroupCodeScan,
    GroupMember,
    GroupMemberChange,
    GroupProbe,
    GroupRule,
    GroupStatus,
    GroupSyncCursor,
    MemberStatus,
)
from yutang.kit.db import UTCDateTime
from yutang.kit.pagination import PageRequest
from yutang.kit.sql import in_list, insert_into
from yutang.org.models import Store
from yutang.pool.models import Event

# --- groups ----------------------------------------------------------------------------------


def scoped_groups(principal: Principal) -> Select[Group]:
    """The one statement through which groups are read: store roles see only their store."""
    statement = select(Group)
    if principal.is_store_scoped:
        statement = statement.where(Group.store_id == principal.store_id)
    return statement


def group_for(session: Session, principal: Principal, group_id: int) -> Group | None:
    return session.scalars(scoped_groups(principal).where(Group.id == group_id)).one_or_none()


def group_by_id(session: Session, group_id: int) -> Group | None:
    return session.get(Group, group_id)


def group_by_chat(session: Session, chat_id: str) -> Group | None:
    return session.scalars(select(Group).where(Group.wecom_chat_id == chat_id)).one_or_none()


def list_groups(session: Session, principal: Principal, *, store_id: int | None,
                status: str | None, owner_user_id: int | None, code_id: int | None,
                page: PageRequest) -> tuple[Sequence[Group], int]:
    statement = scoped_groups(principal)
    if store_id is not None:
        statement = statement.where(Group.store_id == store_id)
    if status is not None:
        statement = statement.where(Group.status == status)
    if owner_user_id is not None:
        statement = statement.where(Group.owner_user_id == owner_user_id)
    if code_id is not None:
        statement = statement.where(Group.code_id == code_id)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(statement.order_by(Group.store_id, Group.id)
                           .offset(page.offset).limit(page.size)).all()
    return rows, int(total)


def groups_of_store(session: Session, store_id: int,
                    statuses: Collection[str] | None = None) -> Sequence[Group]:
    statement = select(Group).where(Group.store_id == store_id)
    if statuses is not None:
        statement = statement.where(in_list(Group.status, list(statuses)))
    return session.scalars(statement.order_by(Group.id)).all()


def groups_with_statuses(session: Session, statuses: Collection[str]) -> Sequence[Group]:
    return session.scalars(select(Group).where(in_list(Group.status, list(statuses)))
                           .order_by(Group.id)).all()


def groups_by_ids(session: Session, group_ids: Collection[int]) -> Sequence[Group]:
    if not group_ids:
        return []
    return session.scalars(select(Group).where(in_list(Group.id, list(group_ids)))
                           .order_by(Group.id)).all()


def member_counts(session: Session, group_ids: Collection[int]) -> dict[int, int]:
    if not group_ids:
        return {}
    rows = session.execute(select(Group.id, Group.member_count)
                           .where(in_list(Group.id, list(group_ids))))
    return {group_id: count for group_id, count in rows}


def _expire_count(session: Session, group_id: int) -> None:
    """The loaded group (if any) reads its count again: it was changed by a statement."""
    instance = session.identity_map.get(identity_key(Group, group_id))
    if instance is not None:
        session.expire(instance, ["member_count"])


def take_seat(session: Session, group_id: int,
              statuses: Collection[str] = (GroupStatus.ACTIVE.value,)) -> bool:
    """One seat in a group with room (of one of ``statuses``), in one conditional statement."""
    taken = session.execute(
        update(Group)
        .where(Group.id == group_id, Group.status.in_(list(statuses)),
               Group.member_count < Group.capacity)
        .values(member_count=Group.member_count + 1)
        .returning(Group.id)
        .execution_options(synchronize_session=False)
    ).first()
    _expire_count(session, group_id)
    return taken is not None


def change_member_count(session: Session, group_id: int, delta: int) -> None:
    """Record a join (+1) or leave (-1) that happened outside routing (it already did)."""
    statement = update(Group).where(Group.id == group_id)
    if delta < 0:
        statement = statement.where(Group.member_count >= -delta)
    session.execute(statement.values(member_count=Group.member_count + delta)
                    .execution_options(synchronize_session=False))
    _expire_count(session, group_id)


def set_member_count(session: Session, group_id: int, count: int) -> None:
    session.execute(update(Group).where(Group.id == group_id).values(member_count=count)
                    .execution_options(synchronize_session=False))
    _expire_count(session, group_id)


def routable_groups(session: Session, code_id: int, limit: int = 4) -> list[int]:
    """The code's active groups with room, least full first (the partial routing index)."""
    return list(session.scalars(
        select(Group.id)
        .where(Group.code_id == code_id, Group.status == GroupStatus.ACTIVE.value,
               Group.member_count < Group.capacity)
        .order_by(Group.member_count, Group.id)
        .limit(limit)
    ))


def groups_of_code(session: Session, code_id: int) -> Sequence[Group]:
    return session.scalars(select(Group).where(Group.code_id == code_id)
                           .order_by(Group.id)).all()


# --- members ---------------------------------------------------------------------------------


def member_row(session: Session, group_id: int, customer_id: int) -> GroupMember | None:
    """The customer's row in the group (the newest, should a merge have left two)."""
    return session.scalars(
        select(GroupMember)
        .where(GroupMember.group_id == group_id, GroupMember.customer_id == customer_id)
        .order_by(GroupMember.status != MemberStatus.MEMBER.value, GroupMember.id.desc())
        .limit(1)
    ).first()


def member_rows(session: Session, pairs: Iterable[tuple[int, int]],
                ) -> dict[tuple[int, int], GroupMember | None]:
    """``member_row`` of each (group id, customer id) pair, read in one statement."""
    wanted = set(pairs)
    found: dict[tuple[int, int], GroupMember | None] = dict.fromkeys(wanted)
    if not wanted:
        return found
    rows = session.scalars(
        select(GroupMember).where(in_list(GroupMember.group_id, {g for g, _ in wanted}),
                                  in_list(GroupMember.customer_id, {c for _, c in wanted}))
        .order_by(GroupMember.status != MemberStatus.MEMBER.value, GroupMember.id.desc()))
    for row in rows:
        pair = (row.group_id, row.customer_id)
        if pair in wanted and found[pair] is None:
            found[pair] = row
    return found


def members_of(session: Session, group_id: int, *, current_only: bool,
               page: PageRequest) -> tuple[Sequence[GroupMember], int]:
    statement = select(GroupMember).where(GroupMember.group_id == group_id)
    if current_only:
        statement = statement.where(GroupMember.status == MemberStatus.MEMBER.value)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(statement.order_by(GroupMember.joined_at, GroupMember.id)
                           .offset(page.offset).limit(page.size)).all()
    return rows, int(total)


def current_members(session: Session, group_id: int) -> Sequence[GroupMember]:
    return session.scalars(select(GroupMember).where(
        GroupMember.group_id == group_id, GroupMember.status == MemberStatus.MEMBER.value)
        .order_by(GroupMember.id)).all()


def current_member_keys(session: Session, group_ids: Collection[int]) -> dict[int, set[int]]:
    keys: dict[int, set[int]] = {group_id: set() for group_id in group_ids}
    if not group_ids:
        return keys
    rows = session.execute(select(GroupMember.group_id, GroupMember.customer_key).where(
        in_list(GroupMember.group_id, list(group_ids)),
        GroupMember.status == MemberStatus.MEMBER.value))
    for group_id, key in rows:
        keys[group_id].add(key)
    return keys


def member_changes(session: Session, group_id: int, until: datetime
                   ) -> Sequence[Row[int, str, datetime]]:
    return session.execute(
        select(GroupMemberChange.customer_id, GroupMemberChange.kind, GroupMemberChange.at)
        .where(GroupMemberChange.group_id == group_id, GroupMemberChange.at < until)
        .order_by(GroupMemberChange.at, GroupMemberChange.id)).all()


def joins_through_groups(session: Session, group_ids: Collection[int], start: datetime,
                         end: datetime) -> dict[int, int]:
    """Distinct customers who joined each group in [start, end)."""
    if not group_ids:
        return {}
    rows = session.execute(
        select(GroupMemberChange.group_id,
               func.count(func.distinct(GroupMemberChange.customer_id)))
        .where(in_list(GroupMemberChange.group_id, list(group_ids)),
               GroupMemberChange.kind == "joined", GroupMemberChange.at >= start,
               GroupMemberChange.at < end)
        .group_by(GroupMemberChange.group_id))
    return {group_id: int(count) for group_id, count in rows}


# --- codes -----------------------------------------------------------------------------------


def code_for(session: Session, principal: Principal, code_id: int) -> GroupCode | None:
    statement = select(GroupCode).where(GroupCode.id == code_id)
    if principal.is_store_scoped:
        statement = statement.where(GroupCode.store_id == principal.store_id)
    return session.scalars(statement).one_or_none()


def codes_for(session: Session, principal: Principal) -> Sequence[GroupCode]:
    statement = select(GroupCode)
    if principal.is_store_scoped:
        statement = statement.where(GroupCode.store_id == principal.store_id)
    return session.scalars(statement.order_by(GroupCode.id)).all()


def lock_code(session: Session, code_id: int) -> GroupCode:
    """The code, locked (PostgreSQL; a SQLite writer holds the database): one scan at a time
    opens a group. ``FOR NO KEY UPDATE``: every scan holds a key-share lock on the code (its
    scan row's foreign key), which ``FOR UPDATE`` would wait for — and deadlock with."""
    return session.scalars(select(GroupCode).where(GroupCode.id == code_id)
                           .with_for_update(key_share=True)
                           .execution_options(populate_existing=True)).one()


def scan_counts(session: Session, code_ids: Collection[int]) -> dict[int, int]:
    if not code_ids:
        return {}
    rows = session.execute(select(GroupCodeScan.code_id, func.coalesce(
        func.sum(GroupCodeScan.scans), 0)).where(in_list(GroupCodeScan.code_id, list(code_ids)))
        .group_by(GroupCodeScan.code_id))
    return {code_id: int(total) for code_id, total in rows}


# --- owners and stores -----------------------------------------------------------------------


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def users_by_wecom_userid(session: Session, userids: Collection[str]) -> dict[str, User]:
    if not userids:
        return {}
    return {user.wecom_userid or "": user for user in session.scalars(
        select(User).where(in_list(User.wecom_userid, list(userids))))}


def usernames(session: Session, user_ids: Collection[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.username).where(
        in_list(User.id, list(user_ids))))
    return {user_id: username for user_id, username in rows}


def store_codes(session: Session, store_ids: Collection[int]) -> dict[int, str]:
    if not store_ids:
        return {}
    rows = session.execute(select(Store.id, Store.code).where(
        in_list(Store.id, list(store_ids))))
    return {store_id: code for store_id, code in rows}


# --- probes and activity ---------------------------------------------------------------------


def probe_by_id(session: Session, probe_id: int) -> GroupProbe | None:
    return session.get(GroupProbe, probe_id)


def latest_probe_before(session: Session, group_id: int, moment: datetime) -> GroupProbe | None:
    return session.scalars(
        select(GroupProbe).where(GroupProbe.group_id == group_id, GroupProbe.sent_at <= moment)
        .order_by(GroupProbe.sent_at.desc(), GroupProbe.id.desc()).limit(1)).first()


def record_claim_on_probe(session: Session, probe_id: int, at: datetime) -> bool:
    """One more packet claimed, never more than were sent (one conditional statement)."""
    moment = literal(at, UTCDateTime())
    done = session.execute(
        update(GroupProbe)
        .where(GroupProbe.id == probe_id, GroupProbe.claimed < GroupProbe.packets)
        .values(claimed=GroupProbe.claimed + 1,
                last_claim_at=case((or_(GroupProbe.last_claim_at.is_(None),
                                        GroupProbe.last_claim_at < moment), moment),
                                   else_=GroupProbe.last_claim_at))
        .returning(GroupProbe.id)
        .execution_options(synchronize_session=False)).first()
    return done is not None


def probes_of(session: Session, group_ids: Collection[int], start: datetime,
              end: datetime) -> Sequence[GroupProbe]:
    if not group_ids:
        return []
    return session.scalars(select(GroupProbe).where(
        in_list(GroupProbe.group_id, list(group_ids)), GroupProbe.sent_at >= start,
        GroupProbe.sent_at < end).order_by(GroupProbe.group_id, GroupProbe.sent_at,
                                           GroupProbe.id)).all()


def last_active_days(session: Session, group_ids: Collection[int], start: date,
                     end: date) -> Sequence[Row[int, int, date]]:
    """(group, customer key, last active day) of activity in [start, end)."""
    if not group_ids:
        return []
    return session.execute(
        select(GroupActivity.group_id, GroupActivity.customer_key, func.max(GroupActivity.day))
        .where(in_list(GroupActivity.group_id, list(group_ids)), GroupActivity.day >= start,
               GroupActivity.day < end)
        .group_by(GroupActivity.group_id, GroupActivity.customer_key)).all()


def activity_of(session: Session, group_id: int, start: date, end: date
                ) -> Sequence[Row[int, date, int]]:
    return session.execute(
        select(GroupActivity.customer_key, GroupActivity.day, GroupActivity.messages)
        .where(GroupActivity.group_id == group_id, GroupActivity.day >= start,
               GroupActivity.day < end)).all()


def add_activity(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add messages and claims to (group, customer, day) rows, creating them as needed."""
    if not rows:
        return
    statement = insert_into(session, GroupActivity)
    statement = statement.on_conflict_do_update(
        index_elements=["group_id", "customer_key", "day"],
        set_={"messages": GroupActivity.messages + statement.excluded.messages,
              "claims": GroupActivity.claims + statement.excluded.claims})
    session.execute(statement, list(rows))


# --- rule and sync ---------------------------------------------------------------------------


def rule(session: Session) -> GroupRule | None:
    return session.scalars(select(GroupRule).order_by(GroupRule.id).limit(1)).first()


def cursor(session: Session, name: str) -> GroupSyncCursor:
    session.execute(insert_into(session, GroupSyncCursor).values(name=name, last_event_id=0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    return session.scalars(select(GroupSyncCursor).where(GroupSyncCursor.name == name)
                           .with_for_update().execution_options(populate_existing=True)).one()


EVENT_FIELDS = (Event.id, Event.type, Event.occurred_at, Event.received_at, Event.customer_id,
                Event.store_id, Event.properties)


def events_after(session: Session, after: int, types: Collection[str], limit: int
                 ) -> Sequence[Row[Any]]:
    return session.execute(select(*EVENT_FIELDS).where(
        Event.id > after, in_list(Event.type, list(types))).order_by(Event.id)
        .limit(limit)).all()


def events_by_event_ids(session: Session, event_ids: Collection[str], types: Collection[str]
                        ) -> Sequence[Row[Any]]:
    if not event_ids:
        return []
    return session.execute(select(*EVENT_FIELDS).where(
        in_list(Event.event_id, list(event_ids)), in_list(Event.type, list(types)))
        .order_by(Event.id)).all()


def open_groups_count(session: Session, store_ids: Collection[int] | None = None
                      ) -> dict[int, dict[str, int]]:
    """Per store: how many groups in each status."""
    statement = select(Group.store_id, Group.status, func.count()).group_by(Group.store_id,
                                                                           Group.status)
    if store_ids is not None:
        statement = statement.where(in_list(Group.store_id, list(store_ids)))
    counts: dict[int, dict[str, int]] = {}
    for store_id, status, count in session.execute(statement):
        counts.setdefault(store_id, {})[status] = int(count)
    return counts


def groups_created(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    rows = session.execute(select(Group.store_id, func.count()).where(
        and_(Group.created_at >= start, Group.created_at < end)).group_by(Group.store_id))
    return {store_id: int(count) for store_id, count in rows}
