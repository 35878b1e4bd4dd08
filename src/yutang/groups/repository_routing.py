"""The statements of group-code routing (the hot path of a scan): Core statements on the
tables, built once per dialect and run on the session's connection — no ORM load, no ORM
bulk-insert machinery (which cost more than the statements themselves). A new customer's
scan costs six statements (see ``groups.routing``): six round trips on SQLite (in-process),
two on PostgreSQL, where the membership read, the seat and the three writes after it go as
one statement (``route_at_once``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Insert,
    Select,
    Update,
    bindparam,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from yutang.groups.models import (
    Group,
    GroupCodeScan,
    GroupMember,
    GroupMemberChange,
    GroupStatus,
    MembershipSource,
    MemberStatus,
)
from yutang.kit.db import UTCDateTime
from yutang.kit.sql import table_of


@dataclass(frozen=True)
class CodeMembership:
    """A member row of the customer in one of the code's groups."""

    member_id: int
    group_id: int
    is_member: bool


GROUPS = table_of(Group)
MEMBERS = table_of(GroupMember)
CHANGES = table_of(GroupMemberChange)
SCANS = table_of(GroupCodeScan)


def _at() -> BindParameter[datetime]:
    return bindparam("p_at", type_=UTCDateTime())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@cache
def _record_scan(dialect: str) -> Insert:
    statement = (postgresql.insert(SCANS) if dialect == "postgresql" else sqlite.insert(SCANS))
    statement = statement.values(
        code_id=bindparam("p_code_id"), customer_id=bindparam("p_customer_id"),
        customer_key=bindparam("p_customer_id"), scans=1, first_scanned_at=_at(),
        last_scanned_at=_at())
    return statement.on_conflict_do_update(
        index_elements=["code_id", "customer_key"],
        set_={"scans": SCANS.c.scans + 1,
              "last_scanned_at": statement.excluded.last_scanned_at},
    ).returning(SCANS.c.id)


def record_scan(session: Session, code_id: int, customer_id: int, at: datetime) -> int:
    """Count the customer's scan of the code on their scan row (made if missing) and return
    its id. The row stays locked to the end of the transaction (the upsert's row lock on
    PostgreSQL, the single writer on SQLite): two scans of one customer run one after the
    other."""
    return int(session.connection().execute(_record_scan(_dialect(session)),
                               {"p_code_id": code_id, "p_customer_id": customer_id,
                                "p_at": at}).scalar_one())


@cache
def _code_memberships() -> Select[int, int, str]:
    # The customer's rows drive (the customer index), each row's group checked by its key: a
    # correlated look-up rather than a join, so no statistics can turn it around. Joined,
    # PostgreSQL probed the member table once per group of the code when the code's groups
    # were under-estimated (a new code, not analysed yet): 2.6 ms a scan at 400 groups.
    code_of_group = (select(GROUPS.c.code_id).where(GROUPS.c.id == MEMBERS.c.group_id)
                     .scalar_subquery())
    return (select(MEMBERS.c.id, MEMBERS.c.group_id, MEMBERS.c.status)
            .where(MEMBERS.c.customer_id == bindparam("p_customer_id"),
                   code_of_group == bindparam("p_code_id"))
            .order_by(MEMBERS.c.id.desc()))


def code_memberships(session: Session, code_id: int,
                     customer_id: int) -> list[CodeMembership]:
    """The customer's member rows (current or past) in the code's groups, newest first (one
    statement, by the member table's customer index: a customer is in few groups)."""
    return [CodeMembership(member_id, group_id, status == MemberStatus.MEMBER.value)
            for member_id, group_id, status in session.connection().execute(
                _code_memberships(), {"p_code_id": code_id, "p_customer_id": customer_id})]


@cache
def _seat_in_least_full(dialect: str) -> Update:
    return _seat(dialect)


def _seat(dialect: str, *conditions: ColumnElement[bool]) -> Update:
    """The seat UPDATE; ``conditions``: more that the candidate must meet (none: no row is
    locked)."""
    routable = (GROUPS.c.status == GroupStatus.ACTIVE.value,
                GROUPS.c.member_count < GROUPS.c.capacity)
    candidate = (select(GROUPS.c.id)
                 .where(GROUPS.c.code_id == bindparam("p_code_id"), *routable, *conditions)
                 .order_by(GROUPS.c.member_count, GROUPS.c.id).limit(1))
    if dialect == "postgresql":
        # Concurrent scans take different groups instead of queueing on the least-full
        # row; NO KEY UPDATE does not wait for the key-share locks of new member rows.
        candidate = candidate.with_for_update(skip_locked=True, key_share=True)
    return (update(GROUPS).where(GROUPS.c.id == candidate.scalar_subquery(), *routable)
            .values(member_count=GROUPS.c.member_count + 1).returning(GROUPS.c.id))


def seat_in_least_full(session: Session, code_id: int) -> int | None:
    """A seat in the code's least-full active group with room, in one statement (the first
    entry of the partial routing index, then the conditional UPDATE). On PostgreSQL, a
    group another scan is seating in right now is skipped (``SKIP LOCKED``), so None means
    no group with room *or* every one busy: the caller then waits its turn on the code."""
    group_id = session.connection().execute(_seat_in_least_full(_dialect(session)),
                               {"p_code_id": code_id}).scalar()
    if group_id is not None:
        _expire_count(session, int(group_id))
    return None if group_id is None else int(group_id)


def _expire_count(session: Session, group_id: int) -> None:
    instance = session.identity_map.get(identity_key(Group, group_id))
    if instance is not None:
        session.expire(instance, ["member_count"])


@cache
def _insert_member() -> Insert:
    return insert(MEMBERS).values(
        group_id=bindparam("p_group_id"), customer_id=bindparam("p_customer_id"),
        customer_key=bindparam("p_customer_id"), status=MemberStatus.MEMBER.value,
        first_joined_at=_at(), joined_at=_at(),
        source=MembershipSource.SCAN.value)


@cache
def _rejoin_member() -> Update:
    return (update(MEMBERS).where(MEMBERS.c.id == bindparam("p_member_id"))
            .values(status=MemberStatus.MEMBER.value, joined_at=_at(),
                    left_at=None, source=MembershipSource.SCAN.value))


@cache
def _insert_join() -> Insert:
    return insert(CHANGES).values(
        group_id=bindparam("p_group_id"), customer_id=bindparam("p_customer_id"), kind="joined",
        at=_at(), source=MembershipSource.SCAN.value, event_id=None,
        actor_name=bindparam("p_actor_name"))


@cache
def _set_scan_group() -> Update:
    return (update(SCANS).where(SCANS.c.id == bindparam("p_scan_id"))
            .values(group_id=bindparam("p_group_id")))


@cache
def _seated_join_at_once(rejoin: bool) -> Update:
    """PostgreSQL: the three writes as one statement (data-modifying CTEs: one round trip)."""
    member = (_rejoin_member() if rejoin else _insert_member()).returning(MEMBERS.c.id)
    change = _insert_join().returning(CHANGES.c.id)
    return (_set_scan_group().add_cte(member.cte("seated_member"))
            .add_cte(change.cte("seated_change")))


def record_seated_join(session: Session, *, scan_id: int, group_id: int, customer_id: int,
                       past_row: int | None, at: datetime, actor_name: str) -> None:
    """The seated customer's member row (their past row of the group made current again, as
    ``membership.join`` does, or a new one), the timeline row, and the group on the scan
    row: three statements, one round trip on PostgreSQL."""
    connection = session.connection()
    values = {"p_group_id": group_id, "p_customer_id": customer_id, "p_at": at,
              "p_actor_name": actor_name, "p_scan_id": scan_id}
    if past_row is not None:
        values["p_member_id"] = past_row
    if _dialect(session) == "postgresql":
        connection.execute(_seated_join_at_once(past_row is not None), values)
        return
    connection.execute(_insert_member() if past_row is None else _rejoin_member(), values)
    connection.execute(_insert_join(), values)
    connection.execute(_set_scan_group(), values)


@cache
def _route_at_once() -> Update:
    """PostgreSQL: the rest of a scan as one statement, after the scan row's lock — so its
    snapshot sees what a concurrent scan of the same customer committed. The customer's
    rows in the code's groups; if one is current, that group; else the seat and the three
    writes of the seated join (the customer's past row of the chosen group made current
    again, else a new one). Every write reads the seat CTE, so none happens when no group
    had a seat for this scan; the scan row gets the group either way."""
    rows = _code_memberships().cte("code_rows")
    current = (select(func.min(rows.c.group_id))
               .where(rows.c.status == MemberStatus.MEMBER.value).scalar_subquery())
    member_somewhere = exists().where(rows.c.status == MemberStatus.MEMBER.value)
    seat = _seat("postgresql", ~member_somewhere).cte("seat")
    rejoined = (update(MEMBERS)
                .where(MEMBERS.c.id.in_(select(rows.c.id)), MEMBERS.c.group_id == seat.c.id)
                .values(status=MemberStatus.MEMBER.value, joined_at=_at(), left_at=None,
                        source=MembershipSource.SCAN.value)
                .returning(MEMBERS.c.id).cte("rejoined_member"))
    customer = bindparam("p_customer_id", type_=BigInteger)
    inserted = (insert(MEMBERS).from_select(
        ["group_id", "customer_id", "customer_key", "status", "first_joined_at", "joined_at",
         "source"],
        select(seat.c.id, customer, customer, literal(MemberStatus.MEMBER.value), _at(),
               _at(), literal(MembershipSource.SCAN.value))
        .where(~exists().where(rows.c.group_id == seat.c.id)))
        .returning(MEMBERS.c.id).cte("inserted_member"))
    change = (insert(CHANGES).from_select(
        ["group_id", "customer_id", "kind", "at", "source", "event_id", "actor_name"],
        select(seat.c.id, customer, literal("joined"), _at(),
               literal(MembershipSource.SCAN.value), null(), bindparam("p_actor_name")))
        .returning(CHANGES.c.id).cte("seated_change"))
    seated = select(seat.c.id).scalar_subquery()
    routed = func.coalesce(seated, current)
    return (update(SCANS).where(SCANS.c.id == bindparam("p_scan_id"), routed.is_not(None))
            .values(group_id=routed)
            .returning(SCANS.c.group_id, current.is_not(None).label("already_member"))
            .add_cte(rejoined).add_cte(inserted).add_cte(change))


def route_at_once(session: Session, *, code_id: int, scan_id: int, customer_id: int,
                  at: datetime, actor_name: str) -> tuple[int, bool] | None:
    """PostgreSQL: (the group, whether the customer was already a member of it) in one round
    trip — or None with nothing written when the customer is in none of the code's groups
    and no group had a seat for this scan."""
    found = session.connection().execute(_route_at_once(), {
        "p_code_id": code_id, "p_scan_id": scan_id, "p_customer_id": customer_id,
        "p_at": at, "p_actor_name": actor_name}).first()
    if found is None:
        return None
    group_id, already_member = int(found[0]), bool(found[1])
    if not already_member:
        _expire_count(session, group_id)
    return group_id, already_member


def set_scan_group(session: Session, scan_id: int, group_id: int) -> None:
    session.connection().execute(_set_scan_group(),
                                 {"p_scan_id": scan_id, "p_group_id": group_id})
