"""The WeCom connector's tables: the corp's settings (secrets encrypted), the log of received
callbacks (which is also the replay guard), staff–customer relations, customer groups and
their members, contact ways, queued side effects and mass-send tasks.

External user ids are personal identifiers: they are stored encrypted with a blind index
(``kit.crypto``), like the pool's identities.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, Encrypted, UTCDateTime

DEFAULT_WELCOME_TEXT = "您好，欢迎添加！有任何问题随时找我。"


class CallbackOutcome(StrEnum):
    PROCESSED = "processed"
    """Translated into pool events and connector state."""
    PARTLY_REJECTED = "partly_rejected"
    """Processed, but the pool refused some of its events (e.g. a placeholder id)."""
    IGNORED = "ignored"
    """Authentic, but not an event the connector translates."""


class ContactStatus(StrEnum):
    ACTIVE = "active"
    HALF = "half"
    """Added without verification, not yet confirmed by the staff member."""
    LOST = "lost"


class LostReason(StrEnum):
    DELETED_BY_STAFF = "deleted_by_staff"
    DELETED_BY_CUSTOMER = "deleted_by_customer"
    TRANSFERRED = "transferred"


class GroupStatus(StrEnum):
    ACTIVE = "active"
    DISMISSED = "dismissed"


class MemberKind(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"


class MemberStatus(StrEnum):
    MEMBER = "member"
    LEFT = "left"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """Claimed by a sender; left so only if the process died mid-call (not retried blindly:
    the call may have gone through)."""
    SENT = "sent"
    FAILED = "failed"


class WayKind(StrEnum):
    CONTACT_WAY = "contact_way"
    JOIN_WAY = "join_way"


class WeComCorp(Base):
    """A WeCom corp yutang listens to; the token, AES key and secret are encrypted."""

    __tablename__ = "wecom_corp"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[str] = mapped_column(String(32), default="")
    token: Mapped[str] = mapped_column(Encrypted("wecom_corp.token"))
    encoding_aes_key: Mapped[str] = mapped_column(Encrypted("wecom_corp.encoding_aes_key"))
    secret: Mapped[str] = mapped_column(Encrypted("wecom_corp.secret"))
    welcome_text: Mapped[str] = mapped_column(Text, default=DEFAULT_WELCOME_TEXT)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WeComCallback(Base):
    """An authentic callback and its outcome. Unique keys make it the replay guard: the same
    request (signature, timestamp, nonce) or the same message content is processed once."""

    __tablename__ = "wecom_callback"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    request_key: Mapped[str] = mapped_column(String(40), unique=True)
    """SHA-1 of corp, msg_signature, timestamp and nonce."""
    message_key: Mapped[str] = mapped_column(String(40), unique=True)
    """SHA-1 of the message's identity: CreateTime, event, change type and every id."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The message's ``CreateTime``."""
    event: Mapped[str] = mapped_column(String(64), default="")
    change_type: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(32), default="")
    """``UpdateDetail`` of a group update."""
    outcome: Mapped[str] = mapped_column(String(16))
    pool_events: Mapped[int] = mapped_column(default=0)
    payload: Mapped[str] = mapped_column(Encrypted("wecom_callback.payload"))
    """The decrypted XML (it names customers: encrypted at rest)."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WeComContact(Base):
    """A staff member ↔ external contact relation; a lost one is kept, never deleted."""

    __tablename__ = "wecom_contact"
    __table_args__ = (UniqueConstraint("corp_id", "staff_userid", "external_userid_index"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64))
    staff_userid: Mapped[str] = mapped_column(String(64))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    """The yutang user whose WeCom user id this is, if any."""
    external_userid_index: Mapped[str] = mapped_column(String(32), index=True)
    external_userid: Mapped[str] = mapped_column(Encrypted("wecom_contact.external_userid"))
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(30), default="")
    """The contact way's ``state`` the customer came through (a channel code's state)."""
    first_added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """None when yutang only heard of the relation when it ended."""
    added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_reason: Mapped[str | None] = mapped_column(String(32))
    last_change: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WeComGroup(Base):
    """A customer group (客户群) as WeCom last told us."""

    __tablename__ = "wecom_group"
    __table_args__ = (UniqueConstraint("corp_id", "chat_id"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    owner_userid: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.ACTIVE.value)
    member_version: Mapped[str] = mapped_column(String(64), default="")
    """``CurMemVer`` of the last change: a different ``LastMemVer`` means missed events."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WeComGroupMember(Base):
    """Who is (or was) in a group; a member who leaves is kept with the time and scene."""

    __tablename__ = "wecom_group_member"
    __table_args__ = (UniqueConstraint("group_id", "member_index"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("wecom_group.id"))
    member_index: Mapped[str] = mapped_column(String(32), index=True)
    member_userid: Mapped[str] = mapped_column(Encrypted("wecom_group_member.member_userid"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    join_scene: Mapped[int | None] = mapped_column()
    """The callback's code: 0 invited or by link, 3 by QR code."""
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quit_scene: Mapped[int | None] = mapped_column()
    """0 left, 1 removed."""


class WeComWay(Base):
    """A contact way or join way created in WeCom for a ``state`` (a channel code's); its
    ``config_id`` is what edits or deletes it later."""

    __tablename__ = "wecom_way"
    __table_args__ = (UniqueConstraint("corp_id", "config_id"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    config_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(30), index=True)
    qr_code: Mapped[str] = mapped_column(String(512), default="")
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Staff user ids (contact way) or chat ids (join way)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WeComOutbox(Base):
    """A side effect (a welcome message) queued in the transaction and run after commit."""

    __tablename__ = "wecom_outbox"
    __table_args__ = (Index("ix_wecom_outbox_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WeComMessageTask(Base):
    """A mass-send task created in WeCom; the key makes a re-run skip parts already sent."""

    __tablename__ = "wecom_message_task"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64))
    task_key: Mapped[str] = mapped_column(String(160), unique=True)
    chat_type: Mapped[str] = mapped_column(String(8))
    sender: Mapped[str] = mapped_column(String(64))
    targets: Mapped[int] = mapped_column()
    failed: Mapped[int] = mapped_column(default=0)
    """Targets WeCom refused (``fail_list``), counted: the ids themselves are not kept."""
    msgid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
