"""The statements of group-code routing (the hot path of a scan): Core statements on the
tables, built once per dialect and run on the session's connection — no ORM load, no ORM
bulk-insert machinery (which cost more than the statements themselves). A new customer's
scan costs six statements (see ``groups.routing``): six round trips on SQLite (in-process),
three on PostgreSQL, where the seat and the three writes after it go as one statement
(``seat_and_join``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Insert,
    Select,
    Update,
    all_,
    any_,
    bindparam,
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
    routable = (GROUPS.c.status == GroupStatus.ACTIVE.value,
                GROUPS.c.member_count < GROUPS.c.capacity)
    candidate = (select(GROUPS.c.id).where(GROUPS.c.code_id == bindparam("p_code_id"), *routable)
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
def _seat_and_join_at_once() -> Update:
    """PostgreSQL: the seat and the three writes of the seated join as one statement. Every
    write reads the seat CTE, so none happens when no group had a seat for this scan."""
    seat = _seat_in_least_full("postgresql").cte("seat")
    past_ids = bindparam("p_past_member_ids", type_=postgresql.ARRAY(BigInteger))
    past_groups = bindparam("p_past_group_ids", type_=postgresql.ARRAY(BigInteger))
    rejoined = (update(MEMBERS)
                .where(MEMBERS.c.id == any_(past_ids), MEMBERS.c.group_id == seat.c.id)
                .values(status=MemberStatus.MEMBER.value, joined_at=_at(), left_at=None,
                        source=MembershipSource.SCAN.value)
                .returning(MEMBERS.c.id).cte("rejoined_member"))
    customer = bindparam("p_customer_id", type_=BigInteger)
    inserted = (insert(MEMBERS).from_select(
        ["group_id", "customer_id", "customer_key", "status", "first_joined_at", "joined_at",
         "source"],
        select(seat.c.id, customer, customer, literal(MemberStatus.MEMBER.value), _at(),
               _at(), literal(MembershipSource.SCAN.value))
        .where(seat.c.id != all_(past_groups)))
        .returning(MEMBERS.c.id).cte("inserted_member"))
    change = (insert(CHANGES).from_select(
        ["group_id", "customer_id", "kind", "at", "source", "event_id", "actor_name"],
        select(seat.c.id, customer, literal("joined"), _at(),
               literal(MembershipSource.SCAN.value), null(), bindparam("p_actor_name")))
        .returning(CHANGES.c.id).cte("seated_change"))
    seated = select(seat.c.id)
    return (update(SCANS).where(SCANS.c.id == bindparam("p_scan_id"), seated.exists())
            .values(group_id=seated.scalar_subquery()).returning(SCANS.c.group_id)
            .add_cte(rejoined).add_cte(inserted).add_cte(change))


def seat_and_join(session: Session, *, code_id: int, scan_id: int, customer_id: int,
                  past_rows: Sequence[CodeMembership], at: datetime,
                  actor_name: str) -> int | None:
    """PostgreSQL: ``seat_in_least_full`` and ``record_seated_join`` in one round trip (the
    customer's past row of the chosen group made current again, else a new one); the group,
    or None with nothing written when no group had a seat for this scan."""
    group_id = session.connection().execute(_seat_and_join_at_once(), {
        "p_code_id": code_id, "p_scan_id": scan_id, "p_customer_id": customer_id,
        "p_at": at, "p_actor_name": actor_name,
        "p_past_member_ids": [row.member_id for row in past_rows],
        "p_past_group_ids": [row.group_id for row in past_rows]}).scalar()
    if group_id is None:
        return None
    _expire_count(session, int(group_id))
    return int(group_id)


def set_scan_group(session: Session, scan_id: int, group_id: int) -> None:
    session.connection().execute(_set_scan_group(),
                                 {"p_scan_id": scan_id, "p_group_id": group_id})
