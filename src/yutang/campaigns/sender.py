"""The sender: claims due deliveries in batches under a lease, and sends each through the
WeCom client, so that no delivery is ever sent twice — not by two senders, not by a retry,
not by a sender that was killed mid-send and started again.

A delivery's way (``models.DeliveryStatus``):

1. ``planned`` → ``claimed``: one statement claims a batch for this sender with a lease
   (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite a conditional ``UPDATE … WHERE status =
   'planned'``, writers being serialised). A dead sender's ``claimed`` rows go back to
   ``planned`` when the lease ends: they were never called.
2. ``claimed`` → ``sending`` (committed *before* the call): consent is checked again (an
   opt-out since planning suppresses it), the coupon that rides along is claimed through the
   offers service with the delivery's idempotency key (a retry gets the same coupon), the
   text is rendered.
3. the call; then ``sent`` (with WeCom's ``msgid``), or back to ``planned`` with a backoff if
   WeCom said it did *not* do it (busy, unreachable before connecting), or ``failed``.
   A ``sending`` row whose lease ended belongs to a sender that died during the call: it may
   have gone out, so it is marked ``failed`` (``outcome_unknown``) and never sent again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import BigInteger, bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

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
from yutang.connectors.wecom.client import BUSY_ERRORS, WeComClient
from yutang.connectors.wecom.errors import WeComApiError, WeComUnavailable
from yutang.connectors.wecom.models import ContactStatus, WeComContact
from yutang.groups.models import Group
from yutang.kit.clock import format_local, utcnow
from yutang.kit.db import run_in_transaction
from yutang.offers import service as offers_service
from yutang.offers.models import ClaimSource, CouponTemplate
from yutang.offers.schemas import ClaimIn
from yutang.pool.models import Consent, Identity, IdentityKind

log = logging.getLogger(__name__)
SENDER_ACTOR = Principal.system("campaigns")


@dataclass(frozen=True)
class SenderSettings:
    batch_size: int = 100
    lease_seconds: int = 120
    max_attempts: int = 5
    backoff_seconds: float = 60.0
    """The first retry waits this long; each next one twice as long."""


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    retried: int = 0
    released: int = 0
    unknown: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: SendReport) -> None:
        for name in ("claimed", "sent", "failed", "suppressed", "retried", "released",
                     "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count


# --- leases ----------------------------------------------------------------------------------


def expire_leases(session: Session, *, now: datetime) -> tuple[int, int]:
    """(released, unknown): claims of dead senders go back to ``planned``; calls of dead
    senders are ``failed`` with ``outcome_unknown`` and never retried."""
    released = session.execute(  # type: ignore[attr-defined]
        update(Delivery).where(Delivery.status == DeliveryStatus.CLAIMED.value,
                               Delivery.lease_until < now)
        .values(status=DeliveryStatus.PLANNED.value, lease_owner=None, lease_until=None)
    ).rowcount
    unknown = session.execute(  # type: ignore[attr-defined]
        update(Delivery).where(Delivery.status == DeliveryStatus.SENDING.value,
                               Delivery.lease_until < now)
        .values(status=DeliveryStatus.FAILED.value, reason="outcome_unknown",
                lease_owner=None, lease_until=None)
    ).rowcount
    return int(released or 0), int(unknown or 0)


_DUE = """
    SELECT d.id FROM campaign_delivery d JOIN campaign c ON c.id = d.campaign_id
    WHERE d.status = 'planned' AND d.not_before <= :now
      AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= :now) AND c.status = 'active'
    ORDER BY d.not_before, d.id LIMIT :limit
"""


def claim_batch(session: Session, *, owner: str, now: datetime, limit: int,
                lease: timedelta) -> list[int]:
    """Claim up to ``limit`` due deliveries for ``owner`` in one statement."""
    locking = " FOR UPDATE OF d SKIP LOCKED" if session.get_bind().dialect.name == "postgresql" \
        else ""
    statement = text(f"""
        UPDATE campaign_delivery SET status = 'claimed', lease_owner = :owner,
               lease_until = :until
        WHERE status = 'planned' AND id IN ({_DUE}{locking})
        RETURNING id
    """).bindparams(bindparam("now", type_=Delivery.not_before.type),  # noqa: S608
                    bindparam("until", type_=Delivery.lease_until.type),
                    bindparam("limit", type_=BigInteger))
    rows = session.execute(statement, {"owner": owner, "now": now, "until": now + lease,
                                       "limit": limit}).scalars().all()
    return sorted(int(row) for row in rows)


# --- one delivery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    chat_type: str
    sender: str
    target: str
    text: str
    attachments: list[dict[str, Any]]
    attempts: int


def _consent_now(session: Session, customer_id: int, channel: str) -> bool | None:
    return session.scalar(select(Consent.granted)
                          .where(Consent.customer_id == customer_id, Consent.channel == channel)
                          .order_by(Consent.recorded_at.desc(), Consent.id.desc()).limit(1))


def _wecom_attachments(content: Content) -> list[dict[str, Any]]:
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


def _customer_address(session: Session, customer_id: int) -> tuple[str, str] | None:
    """(external user id, staff user id who has the customer), newest active relation."""
    identity = session.scalars(select(Identity).where(
        Identity.customer_id == customer_id,
        Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value).order_by(
        Identity.id.desc()).limit(1)).first()
    if identity is None:
        return None
    contact = session.scalars(select(WeComContact).where(
        WeComContact.external_userid_index == identity.value_index,
        WeComContact.status == ContactStatus.ACTIVE.value).order_by(
        WeComContact.added_at.desc(), WeComContact.id.desc()).limit(1)).first()
    return identity.value, contact.staff_userid if contact is not None else ""


def _finish(delivery: Delivery, status: DeliveryStatus, reason: str | None,
            error: str | None = None) -> None:
    delivery.status = status.value
    delivery.reason = reason
    delivery.last_error = error[:300] if error else None
    delivery.lease_owner = None
    delivery.lease_until = None


def _prepare(session: Session, delivery_id: int, owner: str, now: datetime,
             report: SendReport) -> _Prepared | None:
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if (delivery is None or delivery.status != DeliveryStatus.CLAIMED.value
            or delivery.lease_owner != owner):
        return None
    campaign = session.get_one(Campaign, delivery.campaign_id)
    channel = CampaignChannel(campaign.channel)
    if campaign.status != CampaignStatus.ACTIVE.value:
        _finish(delivery, DeliveryStatus.PLANNED, None)
        return None
    content = session.get_one(Content, campaign.content_id)
    values: dict[str, str] = {}
    if channel is CampaignChannel.WECOM_SINGLE:
        assert delivery.customer_id is not None
        granted = _consent_now(session, delivery.customer_id, CONSENT_CHANNEL[channel])
        if not granted:
            reason = (SuppressionReason.NO_CONSENT if granted is None
                      else SuppressionReason.OPTED_OUT).value
            _finish(delivery, DeliveryStatus.SUPPRESSED, reason)
            report.suppressed += 1
            report.reasons[reason] = report.reasons.get(reason, 0) + 1
            return None
        address = _customer_address(session, delivery.customer_id)
        if address is None or not (address[1] or campaign.sender_userid):
            _finish(delivery, DeliveryStatus.FAILED, SuppressionReason.UNREACHABLE.value)
            report.failed += 1
            return None
        target, sender = address[0], address[1] or campaign.sender_userid
        chat_type = "single"
        coupon_code = coupon_name = ""
        if campaign.coupon_template_id is not None:
            outcome = offers_service.claim(
                session, actor=SENDER_ACTOR, template_id=campaign.coupon_template_id,
                data=ClaimIn(idempotency_key=f"{delivery.idempotency_key}:coupon",
                             customer_id=delivery.customer_id, source=ClaimSource.CAMPAIGN))
            if not outcome.succeeded:
                code = str(outcome.body.get("error", {}).get("code", "coupon_refused"))
                _finish(delivery, DeliveryStatus.FAILED, "coupon_unavailable", code)
                report.failed += 1
                return None
            coupon_code = str(outcome.body["code"])
            coupon_name = session.get_one(CouponTemplate, campaign.coupon_template_id).name
            delivery.coupon_code = coupon_code
        values = content_service.customer_values(
            session, customer_id=delivery.customer_id, coupon_code=coupon_code,
            coupon_name=coupon_name, day=format_local(now, with_time=False))
    else:
        group = session.get(Group, delivery.group_id) if delivery.group_id else None
        owner_userid = (session.scalar(select(User.wecom_userid).where(
            User.id == group.owner_user_id)) if group is not None else None)
        sender = owner_userid or campaign.sender_userid
        if group is None or not group.wecom_chat_id or not sender:
            _finish(delivery, DeliveryStatus.FAILED, SuppressionReason.UNREACHABLE.value)
            report.failed += 1
            return None
        target, chat_type = group.wecom_chat_id, "group"
        values = {"date": format_local(now, with_time=False)}
    delivery.status = DeliveryStatus.SENDING.value
    delivery.attempts += 1
    session.flush()
    return _Prepared(chat_type=chat_type, sender=sender, target=target,
                     text=content_service.render(content.body, values),
                     attachments=_wecom_attachments(content), attempts=delivery.attempts)


def _not_done_by_wecom(error: Exception) -> bool:
    """WeCom said it did not do it (an errcode, still busy) or was never reached."""
    if isinstance(error, WeComApiError):
        return error.errcode in BUSY_ERRORS
    if isinstance(error, WeComUnavailable):
        return (error.details.get("errcode") in BUSY_ERRORS
                or isinstance(error.__cause__, httpx.ConnectError))
    return False


def send_one(factory: sessionmaker[Session], *, client: WeComClient, delivery_id: int,
             owner: str, settings: SenderSettings, clock: Callable[[], datetime] = utcnow,
             report: SendReport) -> None:
    prepared = run_in_transaction(
        factory, lambda session: _prepare(session, delivery_id, owner, clock(), report))
    if prepared is None:
        return
    error: Exception | None = None
    msgid = ""
    refused = False
    try:
        answer = client.add_message_template(
            chat_type=prepared.chat_type, sender=prepared.sender, text=prepared.text,
            external_userids=[prepared.target] if prepared.chat_type == "single" else (),
            chat_ids=[prepared.target] if prepared.chat_type == "group" else (),
            attachments=prepared.attachments)
        msgid, refused = answer.msgid, prepared.target in answer.fail_list
    except (WeComApiError, WeComUnavailable) as raised:
        error = raised

    def record(session: Session) -> None:
        delivery = session.get_one(Delivery, delivery_id)
        if delivery.status != DeliveryStatus.SENDING.value or delivery.lease_owner != owner:
            return  # the lease ran out and the row was judged meanwhile: leave it
        now = clock()
        if error is None and not refused:
            _finish(delivery, DeliveryStatus.SENT, None)
            delivery.sent_at, delivery.message_ref = now, msgid
            report.sent += 1
        elif error is None:
            _finish(delivery, DeliveryStatus.FAILED, "refused_by_wecom", "in fail_list")
            report.failed += 1
        elif _not_done_by_wecom(error) and prepared.attempts < settings.max_attempts:
            _finish(delivery, DeliveryStatus.PLANNED, None, str(error))
            delivery.next_attempt_at = now + timedelta(
                seconds=settings.backoff_seconds * 2 ** (prepared.attempts - 1))
            report.retried += 1
        else:
            reason = "send_failed" if _not_done_by_wecom(error) else "outcome_unknown"
            if isinstance(error, WeComApiError) and error.errcode not in BUSY_ERRORS:
                reason = f"wecom_{error.errcode}"[:32]
            _finish(delivery, DeliveryStatus.FAILED, reason, str(error))
            report.failed += 1

    run_in_transaction(factory, record)


def send_due(factory: sessionmaker[Session], *, client: WeComClient, owner: str,
             settings: SenderSettings = SenderSettings(),
             clock: Callable[[], datetime] = utcnow) -> SendReport:
    """Expire dead leases, claim one batch and send it."""
    report = SendReport()

    def claim(session: Session) -> list[int]:
        now = clock()
        report.released, report.unknown = expire_leases(session, now=now)
        return claim_batch(session, owner=owner, now=now, limit=settings.batch_size,
                           lease=timedelta(seconds=settings.lease_seconds))

    claimed = run_in_transaction(factory, claim)
    report.claimed = len(claimed)
    for delivery_id in claimed:
        send_one(factory, client=client, delivery_id=delivery_id, owner=owner,
                 settings=settings, clock=clock, report=report)
    return report


def run_worker(factory: sessionmaker[Session], *, client: WeComClient, owner: str,
               settings: SenderSettings = SenderSettings(), plan: Callable[[], int],
               once: bool = False, poll_seconds: float = 5.0,
               clock: Callable[[], datetime] = utcnow,
               sleep: Callable[[float], None] = time.sleep) -> SendReport:
    """Plan what is due and send until nothing is left (``once``), or forever."""
    total = SendReport()
    while True:
        plan()
        report = send_due(factory, client=client, owner=owner, settings=settings, clock=clock)
        total.add(report)
        if report.claimed == 0:
            if once:
                return total
            sleep(poll_seconds)
