"""Shared builders of the campaigns tests: a shop of customers with consents, WeCom ids,
tags and orders; approved content; campaigns through the service."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM, make_customer, make_store
from yutang.campaigns import campaigns as campaign_service
from yutang.campaigns import content as content_service
from yutang.campaigns import segments as segment_service
from yutang.campaigns.models import Campaign, Content, Segment
from yutang.campaigns.schemas import CampaignIn, ContentIn, SegmentIn
from yutang.kit.clock import utcnow
from yutang.kit.crypto import get_protector
from yutang.org.models import Store
from yutang.pool.models import (
    Consent,
    Customer,
    CustomerTag,
    Identity,
    IdentityKind,
    Order,
    OrderStatus,
    Tag,
)

_numbers = itertools.count(1)


def new_store(session: Session) -> Store:
    return make_store(session, f"C{next(_numbers):04d}")


def new_customer(session: Session, store: Store | None, *, wecom: bool = True,
                 consent: bool | None = True, name: str | None = None) -> Customer:
    number = next(_numbers)
    customer = make_customer(session, store=store, name=name or f"顾客{number}",
                             phone=f"139{number:08d}")
    if wecom:
        external = f"wm{number:06d}"
        session.add(Identity(customer_id=customer.id, kind=IdentityKind.WECOM_EXTERNAL_USERID.value,
                             value=external,
                             value_index=get_protector().blind_index(
                                 external, IdentityKind.WECOM_EXTERNAL_USERID.value),
                             source="tests"))
    if consent is not None:
        give_consent(session, customer, granted=True)
        if consent is False:
            give_consent(session, customer, granted=False)
    session.flush()
    return customer


_consent_clock = itertools.count(1)


def give_consent(session: Session, customer: Customer, *, granted: bool,
                 channel: str = "wecom") -> None:
    moment = datetime(2026, 1, 1, tzinfo=utcnow().tzinfo).replace(
        microsecond=next(_consent_clock) % 1_000_000)
    session.add(Consent(customer_id=customer.id, channel=channel, granted=granted,
                        source="tests", recorded_at=moment))
    session.flush()


def tag(session: Session, customer: Customer, name: str, category: str = "") -> None:
    found = session.query(Tag).filter_by(name=name).one_or_none()
    if found is None:
        found = Tag(name=name, category=category)
        session.add(found)
        session.flush()
    session.add(CustomerTag(customer_id=customer.id, tag_id=found.id, source="tests"))
    session.flush()


def order(session: Session, customer: Customer, *, at: datetime, paid_fen: int = 10_000,
          status: OrderStatus = OrderStatus.PAID) -> Order:
    placed = Order(source="pos", external_order_id=f"o{next(_numbers)}",
                   customer_id=customer.id, store_id=customer.store_id, status=status.value,
                   total_fen=paid_fen, paid_fen=paid_fen, ordered_at=at, paid_at=at)
    session.add(placed)
    session.flush()
    return placed


def segment(session: Session, rule: dict[str, Any], name: str | None = None) -> Segment:
    return segment_service.create_segment(
        session, actor=SYSTEM, data=SegmentIn(name=name or f"人群{next(_numbers)}", rule=rule))


def approved_content(session: Session, body: str = "{name}您好，{store}本周新品到店") -> Content:
    content = content_service.create_content(
        session, actor=SYSTEM, data=ContentIn(name=f"文案{next(_numbers)}", category="promotion",
                                              body=body))
    return content_service.approve_content(session, actor=SYSTEM, content_id=content.id)


def campaign(session: Session, **fields: Any) -> Campaign:
    data: dict[str, Any] = {"name": f"活动{next(_numbers)}", "channel": "wecom_single",
                            "audience_kind": "segment", "schedule_kind": "once",
                            "sender_userid": "staff-hq"}
    data.update(fields)
    if "content_id" not in data:
        data["content_id"] = approved_content(session).id
    created = campaign_service.create_campaign(session, actor=SYSTEM, data=CampaignIn(**data))
    return campaign_service.set_status(session, actor=SYSTEM, campaign_id=created.id,
                                       status=campaign_service.CampaignStatus.ACTIVE)
