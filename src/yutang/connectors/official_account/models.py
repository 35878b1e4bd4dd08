"""The Official Account connector's tables: the account's settings (secrets encrypted) and
the log of authentic callbacks, which is also the replay guard."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import Base, BigIntegerId, Encrypted, UTCDateTime


class MessageMode(StrEnum):
    """How the account's messages travel (公众号 消息加解密方式)."""

    PLAINTEXT = "plaintext"
    """明文模式: the body is plain XML, only the URL signature authenticates it."""
    COMPATIBLE = "compatible"
    """兼容模式: plaintext or encrypted bodies are both accepted."""
    SAFE = "safe"
    """安全模式: every body must be encrypted (``encrypt_type=aes``)."""


class OfficialAccountOutcome(StrEnum):
    PROCESSED = "processed"
    PARTLY_REJECTED = "partly_rejected"
    IGNORED = "ignored"
    """Authentic, but not an event the connector translates (a text message, a menu click)."""


class OfficialAccount(Base):
    """An Official Account yutang listens to; token, AES key and AppSecret are encrypted."""

    __tablename__ = "official_account"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    app_id: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(Encrypted("official_account.token"))
    encoding_aes_key: Mapped[str] = mapped_column(Encrypted("official_account.encoding_aes_key"))
    """Empty in plaintext mode."""
    secret: Mapped[str] = mapped_column(Encrypted("official_account.secret"))
    mode: Mapped[str] = mapped_column(String(16), default=MessageMode.SAFE.value)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OfficialAccountCallback(Base):
    """An authentic callback and its outcome; the unique keys make a replay a no-op."""

    __tablename__ = "official_account_callback"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    app_id: Mapped[str] = mapped_column(String(32), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    request_key: Mapped[str] = mapped_column(String(40), unique=True)
    """SHA-1 of app id, signature, timestamp and nonce: the same request again."""
    message_key: Mapped[str] = mapped_column(String(40), unique=True)
    """SHA-1 of app id, FromUserName, CreateTime, MsgType, Event, EventKey and MsgId."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The message's ``CreateTime``."""
    encrypted: Mapped[bool] = mapped_column(default=False)
    msg_type: Mapped[str] = mapped_column(String(32), default="")
    event: Mapped[str] = mapped_column(String(64), default="")
    scene: Mapped[str] = mapped_column(String(64), default="")
    """The QR scene (``qrscene_`` removed): a channel code's state when it is one of ours."""
    outcome: Mapped[str] = mapped_column(String(16))
    pool_events: Mapped[int] = mapped_column(default=0)
    payload: Mapped[str] = mapped_column(Encrypted("official_account_callback.payload"))
    """The (decrypted) XML: it names a follower, so it is encrypted at rest."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
