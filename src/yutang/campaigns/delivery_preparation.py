"""Preparing a claimed batch for sending, in one transaction, and cutting it into WeCom
mass-send tasks (``sender`` describes the whole way of a delivery).

Preparing reads what the batch needs with a few set-based statements (the rows, locked and
still this sender's; campaigns and content; the newest consent of every customer; WeCom
addresses; group owners), then per delivery: an opt-out since planning suppresses it, no
address fails it, the coupon that rides along is claimed through the offers service with the
delivery's idempotency key (a retry gets the same coupon), and the text is rendered. The rows
stay ``claimed``: each task moves its own rows to ``sending`` just before its call.

Deliveries whose message is identical — chat type, sending staff member, rendered text,
attachments — share one task (≤ 10,000 customers or ≤ 2,000 groups, and never one target
twice); a staff member confirms a task once in WeCom, whatever its size. Content with
per-customer variables (``content.PER_CUSTOMER_VARIABLES``) renders differently for every
recipient, so each of those is a task of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access.models import User
from yutang.access.roles import Principal
from yutang.campaigns import content as content_service
from yutang.campaigns.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Content,
    Delivery,
    DeliveryStatus,
    SuppressionReason,
)
from yutang.campaigns.planning import CONSENT_CHANNEL
from yutang.connectors.wecom.client import MAX_CUSTOMERS_PER_TASK, MAX_GROUPS_PER_TASK
from yutang.connectors.wecom.models import ContactStatus, WeComContact
from yutang.groups.models import Group
from yutang.kit.clock import format_local
from yutang.offers import service as offers_service
from yutang.offers.models import ClaimSource, CouponTemplate
from yutang.offers.schemas import ClaimIn
from yutang.pool.models import Consent, Identity, IdentityKind

SENDER_ACTOR = Principal.system("campaigns")
IN_LIST_SIZE = 5_000
"""Ids bound into one ``IN (…)`` at most (SQLite and PostgreSQL cap bound parameters)."""
_T = TypeVar("_T")


@dataclass
class PreparationCounts:
    """What preparing decided without a call."""

    suppressed: int = 0
    failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def suppress(self, reason: str) -> None:
        self.suppressed += 1
        count_reason(self.reasons, reason)


def count_reason(reasons: dict[str, int], reason: str, count: int = 1) -> None:
    """Add ``count`` to the tally of ``reason``."""
    reasons[reason] = reasons.get(reason, 0) + count


@dataclass(frozen=True)
class PreparedDelivery:
    delivery_id: int
    customer_id: int | None
    consent_channel: str | None
    """The channel whose consent is checked again just before the call (1:1 messages)."""
    target: str
    """The external user id (``single``) or chat id (``group``)."""


@dataclass
class MassSendTask:
    """One ``add_msg_template`` call: one message, one staff member, many targets."""

    chat_type: str
    sender: str
    text: str
    attachments: list[dict[str, Any]]
    deliveries: list[PreparedDelivery] = field(default_factory=list)
    _named: set[str] = field(default_factory=set, repr=False)

    @property
    def targets(self) -> list[str]:
        return [delivery.target for delivery in self.deliveries]

    def takes(self, delivery: PreparedDelivery, limit: int) -> bool:
        return len(self.deliveries) < limit and delivery.target not in self._named

    def add(self, delivery: PreparedDelivery) -> None:
        self.deliveries.append(delivery)
        self._named.add(delivery.target)


def in_chunks(values: Sequence[_T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def finish(delivery: Delivery, status: DeliveryStatus, reason: str | None,
           error: str | None = None) -> None:
    delivery.status = status.value
    delivery.reason = reason
    delivery.last_error = error[:300] if error else None
    delivery.lease_owner = None
    delivery.lease_until = None


# --- set-based reads -------------------------------------------------------------------------


def newest_consents(session: Session, customer_ids: Iterable[int],
                    channel: str) -> dict[int, bool]:
    """Each customer's newest decision for ``channel`` (absent: never asked)."""
    wanted = sorted(set(customer_ids))
    found: dict[int, bool] = {}
    for chunk in in_chunks(wanted):
        rows = session.execute(select(Consent.customer_id, Consent.granted).where(
            Consent.customer_id.in_(chunk), Consent.channel == channel).order_by(
            Consent.customer_id, Consent.recorded_at, Consent.id))
        for customer_id, granted in rows:
            found[int(customer_id)] = bool(granted)  # the newest comes last
    return found


def refusal(consents: dict[int, bool], customer_id: int) -> str | None:
    """The suppression reason when the customer does not (or no longer) consent."""
    granted = consents.get(customer_id)
    if granted:
        return None
    return (SuppressionReason.NO_CONSENT if granted is None
            else SuppressionReason.OPTED_OUT).value


def _customer_addresses(session: Session,
                        customer_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(external user id, staff user id who has the customer or "") per customer: the
    newest WeCom identity, and its newest active relation."""
    identities: dict[int, tuple[str, str]] = {}
    for chunk in in_chunks(sorted(set(customer_ids))):
        for customer_id, value, value_index in session.execute(select(
                Identity.customer_id, Identity.value, Identity.value_index).where(
                Identity.customer_id.in_(chunk),
                Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value).order_by(
                Identity.customer_id, Identity.id)):
            identities[int(customer_id)] = (str(value), str(value_index))  # newest last
    staff: dict[str, tuple[tuple[bool, datetime | None, int], str]] = {}
    indexes = sorted({value_index for _, value_index in identities.values()})
    for index_chunk in in_chunks(indexes):
        for value_index, staff_userid, added_at, contact_id in session.execute(select(
                WeComContact.external_userid_index, WeComContact.staff_userid,
                WeComContact.added_at, WeComContact.id).where(
                WeComContact.external_userid_index.in_(index_chunk),
                WeComContact.status == ContactStatus.ACTIVE.value)):
            rank = (added_at is not None, added_at, int(contact_id))
            known = staff.get(value_index)
            if known is None or _newer(rank, known[0]):
                staff[value_index] = (rank, str(staff_userid))
    return {customer_id: (value, staff[value_index][1] if value_index in staff else "")
            for customer_id, (value, value_index) in identities.items()}


def _newer(rank: tuple[bool, datetime | None, int],
           other: tuple[bool, datetime | None, int]) -> bool:
    """Newest relation first: one with an ``added_at`` beats one without, then the later
    ``added_at``, then the higher id."""
    if rank[0] != other[0]:
        return rank[0]
    if rank[1] is not None and other[1] is not None and rank[1] != other[1]:
        return rank[1] > other[1]
    return rank[2] > other[2]


def _group_addresses(session: Session,
                     group_ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
    """(chat id, owner's WeCom user id) per group."""
    found: dict[int, tuple[str | None, str | None]] = {}
    for chunk in in_chunks(sorted(set(group_ids))):
        for group_id, chat_id, owner_userid in session.execute(select(
                Group.id, Group.wecom_chat_id, User.wecom_userid).outerjoin(
                User, User.id == Group.owner_user_id).where(Group.id.in_(chunk))):
            found[int(group_id)] = (chat_id, owner_userid)
    return found


def wecom_attachments(content: Content) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for item in content.attachments:
        kind = item.get("kind")
        if kind == "image":
            items.append({"msgtype": "image", "image": {"pic_url": item.get("url", "")}})
        elif kind == "link":
            items.append({"msgtype": "link", "link": {"title": item.get("title", ""),
                                                      "url": item.get("url", "")}})
        elif kind == "miniprogram":
            items.append({"msgtype": "miniprogram", "miniprogram": {
                "title": item.get("title", ""), "appid": item.get("appid", ""),
                "page": item.get("page", "")}})
    return items


# --- the batch -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    chat_type: str
    sender: str
    text: str
    attachments: list[dict[str, Any]]


class _Batch:
    """What the batch's deliveries share, read once."""

    def __init__(self, session: Session, rows: Sequence[Delivery], now: datetime) -> None:
        campaign_ids = sorted({row.campaign_id for row in rows})
        self.campaigns = {campaign.id: campaign for campaign in session.scalars(
            select(Campaign).where(Campaign.id.in_(campaign_ids)))}
        self.contents = {content.id: content for content in session.scalars(
            select(Content).where(Content.id.in_(
                {campaign.content_id for campaign in self.campaigns.values()})))}
        single = [row for row in rows if row.customer_id is not None
                  and self.channel(row) is CampaignChannel.WECOM_SINGLE]
        self.consents: dict[str, dict[int, bool]] = {}
        for channel in {CONSENT_CHANNEL[self.channel(row)] for row in single}:
            self.consents[channel] = newest_consents(
                session, [row.customer_id for row in single if row.customer_id is not None
                          and CONSENT_CHANNEL[self.channel(row)] == channel], channel)
        self.customers = _customer_addresses(
            session, [row.customer_id for row in single if row.customer_id is not None])
        self.groups = _group_addresses(
            session, [row.group_id for row in rows if row.group_id is not None])
        self.day = format_local(now, with_time=False)
        self.coupon_names: dict[int, str] = {}
        self.attachments = {content_id: wecom_attachments(content)
                            for content_id, content in self.contents.items()}

    def channel(self, row: Delivery) -> CampaignChannel:
        return CampaignChannel(self.campaigns[row.campaign_id].channel)

    def coupon_name(self, session: Session, template_id: int) -> str:
        if template_id not in self.coupon_names:
            self.coupon_names[template_id] = session.get_one(CouponTemplate, template_id).name
        return self.coupon_names[template_id]


def _single(session: Session, batch: _Batch, row: Delivery, campaign: Campaign,
            content: Content, counts: PreparationCounts) -> tuple[_Message, str] | None:
    assert row.customer_id is not None
    channel = CONSENT_CHANNEL[CampaignChannel.WECOM_SINGLE]
    reason = refusal(batch.consents.get(channel, {}), row.customer_id)
    if reason is not None:
        finish(row, DeliveryStatus.SUPPRESSED, reason)
        counts.suppress(reason)
        return None
    address = batch.customers.get(row.customer_id)
    if address is None or not (address[1] or campaign.sender_userid):
        finish(row, DeliveryStatus.FAILED, SuppressionReason.UNREACHABLE.value)
        counts.failed += 1
        return None
    values = {"date": batch.day}
    if campaign.coupon_template_id is not None:
        outcome = offers_service.claim(
            session, actor=SENDER_ACTOR, template_id=campaign.coupon_template_id,
            data=ClaimIn(idempotency_key=f"{row.idempotency_key}:coupon",
                         customer_id=row.customer_id, source=ClaimSource.CAMPAIGN))
        if not outcome.succeeded:
            code = str(outcome.body.get("error", {}).get("code", "coupon_refused"))
            finish(row, DeliveryStatus.FAILED, "coupon_unavailable", code)
            counts.failed += 1
            return None
        row.coupon_code = str(outcome.body["code"])
        values |= {"coupon": row.coupon_code,
                   "coupon_name": batch.coupon_name(session, campaign.coupon_template_id)}
    if set(content.variables) & set(content_service.CUSTOMER_RECORD_VARIABLES):
        values = content_service.customer_values(
            session, customer_id=row.customer_id, coupon_code=values.get("coupon", ""),
            coupon_name=values.get("coupon_name", ""), day=batch.day)
    return (_Message("single", address[1] or campaign.sender_userid,
                     content_service.render(content.body, values),
                     batch.attachments[content.id]), address[0])


def _group(batch: _Batch, row: Delivery, campaign: Campaign, content: Content,
           counts: PreparationCounts) -> tuple[_Message, str] | None:
    chat_id, owner_userid = batch.groups.get(row.group_id or 0, (None, None))
    sender = owner_userid or campaign.sender_userid
    if not chat_id or not sender:
        finish(row, DeliveryStatus.FAILED, SuppressionReason.UNREACHABLE.value)
        counts.failed += 1
        return None
    return (_Message("group", sender, content_service.render(content.body, {"date": batch.day}),
                     batch.attachments[content.id]), chat_id)


def prepare_batch(session: Session, *, delivery_ids: Sequence[int], owner: str, now: datetime,
                  counts: PreparationCounts) -> list[MassSendTask]:
    """Prepare the batch's deliveries that are still ``claimed`` by ``owner`` (locked for the
    transaction) and cut them into tasks. Deliveries of a campaign that is no longer active go
    back to ``planned``."""
    rows: list[Delivery] = []
    for chunk in in_chunks(sorted(delivery_ids)):
        rows.extend(session.scalars(select(Delivery).where(
            Delivery.id.in_(chunk), Delivery.status == DeliveryStatus.CLAIMED.value,
            Delivery.lease_owner == owner).order_by(Delivery.id).with_for_update()))
    if not rows:
        return []
    batch = _Batch(session, rows, now)
    messages: list[tuple[_Message, PreparedDelivery]] = []
    for row in rows:
        campaign = batch.campaigns[row.campaign_id]
        if campaign.status != CampaignStatus.ACTIVE.value:
            finish(row, DeliveryStatus.PLANNED, None)
            continue
        content = batch.contents[campaign.content_id]
        if batch.channel(row) is CampaignChannel.WECOM_SINGLE:
            prepared = _single(session, batch, row, campaign, content, counts)
            consent_channel: str | None = CONSENT_CHANNEL[CampaignChannel.WECOM_SINGLE]
        else:
            prepared = _group(batch, row, campaign, content, counts)
            consent_channel = None
        if prepared is not None:
            message, target = prepared
            messages.append((message, PreparedDelivery(
                delivery_id=row.id, customer_id=row.customer_id,
                consent_channel=consent_channel, target=target)))
    session.flush()
    return group_into_tasks(messages)


def group_into_tasks(messages: Sequence[tuple[_Message, PreparedDelivery]]
                     ) -> list[MassSendTask]:
    """One task per identical message, split at WeCom's limits and so that no task names a
    target twice (two deliveries to one customer are two messages)."""
    tasks: dict[tuple[str, str, str, str], list[MassSendTask]] = {}
    ordered: list[MassSendTask] = []
    for message, delivery in messages:
        key = (message.chat_type, message.sender, message.text,
               json.dumps(message.attachments, sort_keys=True, ensure_ascii=False))
        limit = MAX_CUSTOMERS_PER_TASK if message.chat_type == "single" else MAX_GROUPS_PER_TASK
        chosen = next((task for task in tasks.get(key, []) if task.takes(delivery, limit)),
                      None)
        if chosen is None:
            chosen = MassSendTask(chat_type=message.chat_type, sender=message.sender,
                                  text=message.text, attachments=message.attachments)
            tasks.setdefault(key, []).append(chosen)
            ordered.append(chosen)
        chosen.add(delivery)
    return ordered
