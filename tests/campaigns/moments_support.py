"""Builders of the staff Moments tests: staff with friends (WeCom contacts, or the customers
they brought in) and Moments copy from the content library."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from tests.campaigns.support import new_customer
from tests.support.factories import SYSTEM
from yutang.access.models import User
from yutang.campaigns import content as content_service
from yutang.campaigns.models import Content
from yutang.campaigns.schemas import ContentIn
from yutang.connectors.wecom.models import ContactStatus, WeComContact
from yutang.kit.crypto import get_protector
from yutang.org.models import Store

_numbers = itertools.count(1)


def wecom_contacts(session: Session, staff: User, **statuses: int) -> None:
    """``active=3, half=1, lost=1``: that many external contacts of the staff member."""
    for status, count in statuses.items():
        for _ in range(count):
            external = f"wmMoments{next(_numbers):06d}"
            session.add(WeComContact(
                corp_id="wwmoments", staff_userid=f"staff-{staff.id}", staff_user_id=staff.id,
                external_userid_index=get_protector().blind_index(external, "wecom"),
                external_userid=external, status=ContactStatus(status).value,
                last_change="add_external_contact"))
    session.flush()


def brought_in(session: Session, staff: User, store: Store, count: int) -> list[int]:
    """``count`` customers whose acquisition staff member is ``staff``."""
    customers = [new_customer(session, store, wecom=False) for _ in range(count)]
    for customer in customers:
        customer.acquisition_staff_id = staff.id
    session.flush()
    return [customer.id for customer in customers]


def moments_content(session: Session, *, body: str = "{store}本周新品上市，到店尝鲜",
                    category: str = "promotion", approve: bool = True,
                    attachments: list[dict[str, str]] | None = None) -> Content:
    content = content_service.create_content(session, actor=SYSTEM, data=ContentIn(
        name=f"朋友圈文案{next(_numbers)}", category=category, body=body,
        attachments=attachments if attachments is not None else [
            {"kind": "image", "url": "https://img.example.com/new-fruit.jpg",
             "title": "新品海报"}]))
    if approve:
        content = content_service.approve_content(session, actor=SYSTEM, content_id=content.id)
    return content
