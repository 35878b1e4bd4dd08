from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yutang.kit.clock import utcnow
from yutang.kit.db import LOGICAL_REFERENCE, Base, BigIntegerId, Encrypted, UTCDateTime


class ChannelKind(StrEnum):
    WECOM = "wecom"
    WECHAT_GROUP = "wechat_group"
    OFFICIAL_ACCOUNT = "official_account"
    MINI_PROGRAM = "mini_program"
    APP = "app"
    STORE = "store"
    TAOBAO = "taobao"
    JD = "jd"
    DOUYIN = "douyin"
    PAID_ADS = "paid_ads"
    REFERRAL = "referral"
    PARTNER = "partner"


class ChannelDomain(StrEnum):
    """Private (私域) channels are the merchant's own; paid (商域) and public (公域) are rented."""

    PRIVATE = "private"
    PAID = "paid"
    PUBLIC = "public"


class IdentityKind(StrEnum):
    WECHAT_UNIONID = "wechat_unionid"
    WECHAT_OPENID = "wechat_openid"
    WECOM_EXTERNAL_USERID = "wecom_external_userid"
    PHONE = "phone"
    MEMBER_CARD = "member_card"
    APP_USER_ID = "app_user_id"
    TAOBAO_ID = "taobao_id"
    JD_ID = "jd_id"
    DOUYIN_ID = "douyin_id"
    DEVICE_ID = "device_id"


class OrderStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    CLOSED = "closed"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class Channel(Base):
    """Where customers come from: a WeCom channel code, a store, a platform, paid ads…"""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str] = mapped_column(String(16), default=ChannelDomain.PRIVATE.value)
    """公域 public, 商域 paid or 私域 private."""
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelCode(Base):
    """A channel code (渠道活码): channel + store + staff (+ campaign) behind one ``state``.

    The ``state`` travels with a WeCom add-contact callback or a scan event and attributes
    the customer to this code.
    """

    __tablename__ = "channel_code"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    campaign: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(30), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Touch(Base):
    """A customer reached through a channel (a code scanned, a contact added, an order…).

    The first touch is the acquisition; orders carry the last touch before them.
    """

    __tablename__ = "touch"
    __table_args__ = (Index("ix_touch_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("channel_code.id"), index=True)
    event_id: Mapped[str | None] = mapped_column(String(128))
    resolved_value_id: Mapped[int | None] = mapped_column(ForeignKey("identity_value.id"))


class ChannelSpend(Base):
    """What a channel cost in a month (fen): the numerator of CAC."""

    __tablename__ = "channel_spend"
    __table_args__ = (UniqueConstraint("channel_id", "month"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    month: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column()


class Customer(Base):
    """One person in the pool. Personal fields are encrypted; lookups use blind indexes."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    acquisition_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel.id"), index=True
    )
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acquisition_staff_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    acquisition_code_id: Mapped[int | None] = mapped_column(ForeignKey("channel_code.id"))
    name: Mapped[str | None] = mapped_column(Encrypted("customer.name"))
    name_index: Mapped[str | None] = mapped_column(String(32), index=True)
    phone: Mapped[str | None] = mapped_column(Encrypted("customer.phone"))
    phone_index: Mapped[str | None] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(Encrypted("customer.address"))
    birthday: Mapped[str | None] = mapped_column(Encrypted("customer.birthday"))
    nickname: Mapped[str | None] = mapped_column(Encrypted("customer.nickname"))
    gender: Mapped[str] = mapped_column(String(8), default=Gender.UNKNOWN.value)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Layers written back by ``yutang analytics refresh`` (analytics.layers_writeback): derived
    # data, so writing them leaves ``updated_at`` as it was.
    rfm_recency_score: Mapped[int | None] = mapped_column()
    rfm_frequency_score: Mapped[int | None] = mapped_column()
    rfm_monetary_score: Mapped[int | None] = mapped_column()
    value_tier: Mapped[str | None] = mapped_column(String(16), index=True)
    """vip, high, medium, low or prospect (never bought)."""
    lifecycle_stage: Mapped[str | None] = mapped_column(String(16), index=True)
    """new, active, won_back, at_risk or lost."""
    layers_as_of: Mapped[date | None] = mapped_column(Date)


class Identity(Base):
    """One identifier of a customer in one channel (unionid, openid, phone, member card…).

    The value is encrypted; ``value_index`` (a blind index of the normalised value) finds it.
    ``scope`` qualifies identifiers that are only unique within something (an openid's appid).
    """

    __tablename__ = "identity"
    # The blind index leads, as in ``identity_value``: the unique constraint's index serves
    # lookups by (kind, scope, value_index), and bulk loads sorted by it append to it.
    __table_args__ = (UniqueConstraint("value_index", "kind", "scope", "customer_id"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(64), default="")
    value_index: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Encrypted("identity.value"))
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    value_id: Mapped[int | None] = mapped_column(ForeignKey("identity_value.id"), index=True)
    """The node of the identity graph this identifier is (see ``IdentityValue``)."""
    origin_customer_id: Mapped[int | None] = mapped_column()
    """The customer record the identifier first arrived on; a split revives it."""


class IdentityStatus(StrEnum):
    USABLE = "usable"
    PLACEHOLDER = "placeholder"
    MALFORMED = "malformed"
    SHARED = "shared"
    """Linked to more customers than the bound: recorded, never links anyone again."""
    DETACHED = "detached"
    """Split off a customer by an operator: never links anyone again."""


class IdentityValue(Base):
    """A node of the identity graph: one identifier value, whoever carries it."""

    __tablename__ = "identity_value"
    __table_args__ = (UniqueConstraint("value_index", "kind", "scope"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(64), default="")
    value_index: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Encrypted("identity.value"))
    strength: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=IdentityStatus.USABLE.value)
    status_reason: Mapped[str | None] = mapped_column(String(200))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IdentityLink(Base):
    """Evidence that two strong values belong to one person: they came in one record."""

    __tablename__ = "identity_link"
    __table_args__ = (UniqueConstraint("value_a_id", "value_b_id"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    value_a_id: Mapped[int] = mapped_column(ForeignKey("identity_value.id"))
    value_b_id: Mapped[int] = mapped_column(ForeignKey("identity_value.id"), index=True)
    """``value_a_id < value_b_id``: each pair is stored once."""
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MergeLog(Base):
    """Every merge and split of customers: what triggered it, which values, before and after."""

    __tablename__ = "merge_log"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(16))
    """``merge``, ``split`` (a guard rail fired) or ``unmerge`` (an operator detached a value)."""
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    customers_before: Mapped[list[int]] = mapped_column(JSON)
    customers_after: Mapped[list[int]] = mapped_column(JSON)
    value_ids: Mapped[list[int]] = mapped_column(JSON)
    trigger: Mapped[str] = mapped_column(String(32))
    """``event``, ``order``, ``customer``, ``import``, ``operator``, ``guard`` or ``rebuild``."""
    trigger_ref: Mapped[str] = mapped_column(String(128), default="")
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IdentityAlert(Base):
    """A value refused for linking (placeholder, malformed, too widely shared), for review."""

    __tablename__ = "identity_alert"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    value_id: Mapped[int] = mapped_column(ForeignKey("identity_value.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Consent(Base):
    """Marketing consent per customer and channel; append-only, the newest record wins."""

    __tablename__ = "consent"
    # The newest decision per customer and channel is one probe, read from the index alone
    # (campaign segments and planning read it for millions of customers).
    __table_args__ = (Index("ix_consent_customer_channel_newest", "customer_id", "channel",
                            "recorded_at", "id", "granted"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    channel: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column()
    source: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(100), default="")


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="")
    price_fen: Mapped[int] = mapped_column()
    is_bait: Mapped[bool] = mapped_column(default=False)
    """A low-price bait product (引流品, e.g. the 99-yuan group-buy) that brings new customers."""
    is_private_only: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(Base):
    """An order from any source; each status transition keeps its time (the funnel needs them)."""

    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("source", "external_order_id"),
        Index("ix_customer_order_customer_ordered", "customer_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_order_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.CREATED.value)
    total_fen: Mapped[int] = mapped_column(default=0)
    discount_fen: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[int] = mapped_column(default=0)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_value_id: Mapped[int | None] = mapped_column(ForeignKey("identity_value.id"))
    """The identifier the order was resolved by: a split re-points the order by it."""
    last_touch_id: Mapped[int | None] = mapped_column(ForeignKey("touch.id"))
    """The customer's last touch before the order (attribution)."""


class OrderItem(Base):
    __tablename__ = "order_item"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price_fen: Mapped[int] = mapped_column()
    amount_fen: Mapped[int] = mapped_column()


class Event(Base):
    """A behavioural event; idempotent by ``event_id``; unknown custom types are kept."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_customer_occurred", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The event log keeps no foreign keys (docs/adr/0007-event-log-without-foreign-keys.md):
    # the rows these ids name are never deleted, the ingestion locks the customers it attaches
    # events to, and per-row key checks cost PostgreSQL 40% of the insert.
    customer_id: Mapped[int | None] = mapped_column(BigIntegerId,
                                                    info={LOGICAL_REFERENCE: "customer.id"})
    store_id: Mapped[int | None] = mapped_column(BigIntegerId,
                                                 info={LOGICAL_REFERENCE: "store.id"})
    channel_id: Mapped[int | None] = mapped_column(BigIntegerId,
                                                   info={LOGICAL_REFERENCE: "channel.id"})
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resolved_value_id: Mapped[int | None] = mapped_column(
        BigIntegerId, info={LOGICAL_REFERENCE: "identity_value.id"})
    """The identifier the event was resolved by: a split re-points the event by it."""


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerTag(Base):
    __tablename__ = "customer_tag"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id"), primary_key=True, index=True)
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
