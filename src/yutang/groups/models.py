"""Groups (社群): customer groups of a store run by a staff owner, their members, group codes
(群活码) that route each scan to a group with room, red-packet probes, daily activity, and the
bookkeeping of the pool events applied to them.

Merges: member rows, scans and claims carry a real foreign key to ``customer.id`` so a OneID
merge re-points them (``pool.graph_repository.customer_reference_columns``). No unique
constraint includes a ``customer_id`` (a merge would move two rows onto one customer and
break it): uniqueness per customer uses a key fixed when the row is made (``customer_key``,
the customer id at that time).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, UTCDateTime


class GroupStatus(StrEnum):
    ACTIVE = "active"
    """Alive (or not judged yet): group codes route joiners to it while it has room."""
    DEAD = "dead"
    """Marked by the dead-group rule: no joiners are routed to it until it is revived."""
    DISMISSED = "dismissed"
    MERGED = "merged"
    """Its members were moved into ``merged_into_id``."""


ROUTABLE_GROUP = "status = 'active' AND member_count < capacity"
"""A group routing may seat a scan in (the predicate of the routing index)."""

OPEN_STATUSES = (GroupStatus.ACTIVE.value, GroupStatus.DEAD.value)
"""Statuses of a group that still exists (has members, can be revived)."""


class MemberStatus(StrEnum):
    MEMBER = "member"
    LEFT = "left"


class MembershipSource(StrEnum):
    SCAN = "scan"
    """Seated by a group code."""
    EVENT = "event"
    """A ``join_group``/``leave_group`` pool event (WeCom, the API, an import)."""
    CONSOLE = "console"
    API = "api"
    MERGE = "merge"
    DISMISS = "dismiss"


class DeadReason(StrEnum):
    PROBE_NOT_CLAIMED = "probe_not_claimed"
    """The latest red-packet probe was not fully claimed within the rule's minutes."""
    LOW_ACTIVITY = "low_activity"
    """Under the rule's share of members active over its window."""


class Group(Base):
    """A customer group (社群) of a store, owned by a staff user, with a capacity.

    ``member_count`` is the number of current members; a seat is taken with one conditional
    UPDATE (``member_count < capacity``), so routing never fills a group above capacity.
    """

    __tablename__ = "customer_group"
    __table_args__ = (
        CheckConstraint("member_count >= 0", name="member_count_not_negative"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        # Routing: the least-full active group of a code with room is the first entry of
        # this partial index (only groups a scan may be seated in are in it).
        Index("ix_customer_group_code_routing", "code_id", "member_count", "id",
              postgresql_where=text(ROUTABLE_GROUP), sqlite_where=text(ROUTABLE_GROUP)),
        Index("ix_customer_group_code_id", "code_id"),
        Index("ix_customer_group_store_status", "store_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column()
    member_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.ACTIVE.value)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("group_code.id"))
    """The group code that routes joiners here (``None``: joined by invitation only)."""
    sequence: Mapped[int | None] = mapped_column()
    """Its number among the groups its code opened (the ``{n}`` of the name pattern)."""
    wecom_chat_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    health_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dead_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dead_reason: Mapped[str | None] = mapped_column(String(32))
    revived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """The last revival: the dead-group rule judges only what happened since."""
    revival_content: Mapped[str | None] = mapped_column(String(200))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customer_group.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupMember(Base):
    """A customer's membership of a group: current (``member``) or past (``left``)."""

    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "customer_key"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("customer_group.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    customer_key: Mapped[int] = mapped_column()
    """The customer id when the row was made (uniqueness that survives merges)."""
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.MEMBER.value)
    first_joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))


class GroupMemberChange(Base):
    """The timeline of memberships: every join and leave, when, how, and which event."""

    __tablename__ = "group_member_change"
    __table_args__ = (Index("ix_group_member_change_group_at", "group_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("customer_group.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    """``joined`` or ``left``."""
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[int | None] = mapped_column()
    """The pool ``event.id`` it came from, if any."""
    actor_name: Mapped[str] = mapped_column(String(100), default="")


class GroupCode(Base):
    """A group live code (群活码) of a store or campaign: each scan is routed to the least-full
    active group of the code with room; when all are full it opens the next group (a new
    group of the same store and owner, named by ``name_pattern``) if ``auto_open``."""

    __tablename__ = "group_code"
    __table_args__ = (CheckConstraint("opened_groups >= 0", name="opened_not_negative"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(100))
    campaign: Mapped[str | None] = mapped_column(String(64))
    name_pattern: Mapped[str] = mapped_column(String(100))
    """``{name}``, ``{store}`` and ``{n}`` (the group's number) are filled in."""
    auto_open: Mapped[bool] = mapped_column(default=True)
    capacity: Mapped[int | None] = mapped_column()
    """Capacity of the groups it opens; ``None``: the store's group capacity."""
    is_active: Mapped[bool] = mapped_column(default=True)
    opened_groups: Mapped[int] = mapped_column(default=0)
    """Groups it opened; raising it is also the lock that lets one scan at a time open one."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class GroupCodeScan(Base):
    """A customer's scans of a code and the group they were given (one row per customer)."""

    __tablename__ = "group_code_scan"
    __table_args__ = (UniqueConstraint("code_id", "customer_key"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("group_code.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    customer_key: Mapped[int] = mapped_column()
    group_id: Mapped[int | None] = mapped_column(ForeignKey("customer_group.id"), index=True)
    scans: Mapped[int] = mapped_column(default=0)
    first_scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupProbe(Base):
    """A red-packet probe (红包测试): ``packets`` red packets sent into a group at
    ``sent_at``; a live group claims them all within minutes (seed 002: 5-6)."""

    __tablename__ = "group_probe"
    __table_args__ = (
        CheckConstraint("claimed >= 0 AND claimed <= packets", name="claimed_within_packets"),
        CheckConstraint("packets > 0", name="packets_positive"),
        Index("ix_group_probe_group_sent", "group_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("customer_group.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    packets: Mapped[int] = mapped_column()
    amount_fen: Mapped[int] = mapped_column(default=0)
    claimed: Mapped[int] = mapped_column(default=0)
    last_claim_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupProbeClaim(Base):
    """One packet of a probe claimed (at most one per claimer, at most ``packets``)."""

    __tablename__ = "group_probe_claim"
    __table_args__ = (UniqueConstraint("probe_id", "claimer_key"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    probe_id: Mapped[int] = mapped_column(ForeignKey("group_probe.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    claimer_key: Mapped[str] = mapped_column(String(64))
    """``c:<customer id at the time>``, or ``e:<event id>`` for a claimer we do not know."""
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_id: Mapped[int | None] = mapped_column()


class GroupActivity(Base):
    """Messages a member sent in a group on a day (Asia/Shanghai), from ``message`` events;
    a probe claim counts as activity with no message."""

    __tablename__ = "group_activity"
    __table_args__ = (Index("ix_group_activity_group_day", "group_id", "day"),)

    group_id: Mapped[int] = mapped_column(ForeignKey("customer_group.id"), primary_key=True)
    customer_key: Mapped[int] = mapped_column(primary_key=True)
    """The customer id of the event (no foreign key: a merge leaves the history as it was)."""
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    messages: Mapped[int] = mapped_column(default=0)
    claims: Mapped[int] = mapped_column(default=0)


class GroupEventReceipt(Base):
    """A pool event the groups domain has applied (so applying it again changes nothing)."""

    __tablename__ = "group_event_receipt"

    event_id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(24))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupSyncCursor(Base):
    """How far the sweep has read the pool's events (``event.id``) for good."""

    __tablename__ = "group_sync_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupRule(Base):
    """The dead-group rule (one row; defaults from seed 002 while none is saved)."""

    __tablename__ = "group_rule"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    probe_claim_minutes: Mapped[int] = mapped_column()
    min_active_share_percent: Mapped[int] = mapped_column()
    window_weeks: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
