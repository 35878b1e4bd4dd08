"""The content library: templates with ``{variables}``, categories, attachments by
reference, and draft → approved states (only approved content can be scheduled).

Variables are refused at save when the library does not know them, so a send can never
leave a ``{typo}`` in a customer's message. ``render`` fills them; a preview fills them with
a real customer's values, masked as the viewer sees that customer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import PersonalDataView, Principal
from yutang.campaigns import policy
from yutang.campaigns.errors import (
    ContentNotApproved,
    ContentNotFound,
    InvalidContent,
    UnknownTemplateVariable,
)
from yutang.campaigns.models import Content, ContentStatus
from yutang.campaigns.schemas import Attachment, ContentIn, ContentPreview, ContentRead
from yutang.kit.clock import format_local, utcnow
from yutang.kit.crypto import mask_name
from yutang.org import service as org_service
from yutang.pool import service as pool_service

KNOWN_VARIABLES = ("name", "nickname", "store", "city", "coupon", "coupon_name", "date")
"""``{name}`` the customer's name, ``{nickname}``, ``{store}`` and ``{city}`` of their store,
``{coupon}`` the code of the coupon that rides along and ``{coupon_name}`` its template's
name, ``{date}`` the local send day."""
PER_CUSTOMER_VARIABLES = ("name", "nickname", "coupon")
"""Variables whose value differs from one customer to the next: a message using one renders
differently for every recipient, so each recipient needs a mass-send task (and a staff
confirmation) of its own. ``{store}`` and ``{city}`` split a send only by store."""
CUSTOMER_RECORD_VARIABLES = ("name", "nickname", "store", "city")
"""Variables read from the customer's record and store (``customer_values``)."""
_VARIABLE = re.compile(r"\{([^{}]*)\}")


def variables_of(body: str) -> list[str]:
    """The ``{variables}`` of a body, in order of first use; unknown ones refused."""
    found = list(dict.fromkeys(match.strip() for match in _VARIABLE.findall(body)))
    unknown = [name for name in found if name not in KNOWN_VARIABLES]
    if unknown:
        raise UnknownTemplateVariable(
            f"unknown variable(s): {', '.join('{' + name + '}' for name in unknown)}",
            variables=unknown, allowed=list(KNOWN_VARIABLES))
    if body.count("{") != body.count("}"):
        raise InvalidContent("a brace is not closed")
    return found


def per_customer_variables(variables: Sequence[str]) -> list[str]:
    """The variables of a template that force one mass-send task per recipient."""
    return [name for name in variables if name in PER_CUSTOMER_VARIABLES]


def render(body: str, values: Mapping[str, str]) -> str:
    """Fill the variables; a variable without a value becomes empty."""
    return _VARIABLE.sub(lambda match: values.get(match.group(1).strip(), ""), body)


def present(content: Content) -> ContentRead:
    return ContentRead(id=content.id, name=content.name, category=content.category,
                       body=content.body, variables=list(content.variables),
                       attachments=list(content.attachments), status=content.status,
                       version=content.version, approved_by=content.approved_by,
                       approved_at=content.approved_at, updated_at=content.updated_at)


def _attachments(data: ContentIn) -> list[dict[str, Any]]:
    return stored_attachments(data.attachments)


def stored_attachments(attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    """Attachments by reference as the library stores them: an image or a link needs an
    https URL, a mini-program card its appid and page."""
    items: list[dict[str, Any]] = []
    for index, attachment in enumerate(attachments):
        if attachment.kind in ("image", "link") and not attachment.url.startswith("https://"):
            raise InvalidContent(f"attachment {index}: an https URL is required", index=index)
        if attachment.kind == "miniprogram" and not (attachment.appid and attachment.page):
            raise InvalidContent(f"attachment {index}: a mini-program card needs appid and page",
                                 index=index)
        items.append(attachment.model_dump(exclude_defaults=True) | {"kind": attachment.kind})
    return items


def create_content(session: Session, *, actor: Principal, data: ContentIn) -> Content:
    access_service.require(actor, policy.MANAGE)
    content = Content(name=data.name.strip(), category=data.category.value, body=data.body,
                      variables=variables_of(data.body), attachments=_attachments(data),
                      status=ContentStatus.DRAFT.value, created_by=actor.name)
    session.add(content)
    session.flush()
    access_service.record_audit(session, actor=actor, action="content.create",
                                entity_type="campaign_content", entity_id=content.id)
    return content


def update_content(session: Session, *, actor: Principal, content_id: int,
                   data: ContentIn) -> Content:
    """Edit a template: it becomes a draft again (and must be approved again)."""
    access_service.require(actor, policy.MANAGE)
    content = get_content(session, content_id=content_id)
    content.variables = variables_of(data.body)
    content.attachments = _attachments(data)
    content.name, content.category, content.body = (data.name.strip(), data.category.value,
                                                    data.body)
    content.status = ContentStatus.DRAFT.value
    content.version += 1
    content.approved_by = content.approved_at = None
    content.updated_at = utcnow()
    session.flush()
    access_service.record_audit(session, actor=actor, action="content.update",
                                entity_type="campaign_content", entity_id=content.id,
                                details={"version": content.version})
    return content


def approve_content(session: Session, *, actor: Principal, content_id: int) -> Content:
    access_service.require(actor, policy.MANAGE)
    content = get_content(session, content_id=content_id)
    if content.status == ContentStatus.ARCHIVED.value:
        raise InvalidContent("archived content cannot be approved")
    content.status = ContentStatus.APPROVED.value
    content.approved_by = actor.name
    content.approved_at = utcnow()
    session.flush()
    access_service.record_audit(session, actor=actor, action="content.approve",
                                entity_type="campaign_content", entity_id=content.id,
                                details={"version": content.version})
    return content


def get_content(session: Session, *, content_id: int) -> Content:
    content = session.get(Content, content_id)
    if content is None:
        raise ContentNotFound(f"no content {content_id}", content_id=content_id)
    return content


def require_approved(session: Session, *, content_id: int) -> Content:
    content = get_content(session, content_id=content_id)
    if content.status != ContentStatus.APPROVED.value:
        raise ContentNotApproved(f"content {content_id} is {content.status}, not approved",
                                 content_id=content_id)
    return content


def list_content(session: Session, *, actor: Principal,
                 category: str | None = None) -> Sequence[Content]:
    access_service.require(actor, policy.READ)
    statement = select(Content).order_by(Content.id.desc())
    if category:
        statement = statement.where(Content.category == category)
    return session.scalars(statement).all()


def customer_values(session: Session, *, customer_id: int, coupon_code: str = "",
                    coupon_name: str = "", day: str = "") -> dict[str, str]:
    """The variables of one customer in clear (for sending, never shown)."""
    customer = pool_service.get_customer(session, principal=Principal.system("campaigns"),
                                         customer_id=customer_id)
    store = (org_service.get_store(session, store_id=customer.store_id)
             if customer.store_id else None)
    return {"name": customer.name or "", "nickname": customer.nickname or "",
            "store": store.name if store else "", "city": store.city if store else "",
            "coupon": coupon_code, "coupon_name": coupon_name,
            "date": day or format_local(utcnow(), with_time=False)}


def preview_content(session: Session, *, actor: Principal, content_id: int,
                    customer_id: int) -> ContentPreview:
    """The content as ``customer_id`` would receive it, with personal values masked (or
    replaced by the pseudonym for analysts); the coupon is a sample code."""
    access_service.require(actor, policy.PREVIEW_CUSTOMERS)
    content = get_content(session, content_id=content_id)
    customer = pool_service.get_customer(session, principal=actor, customer_id=customer_id)
    values = customer_values(session, customer_id=customer.id, coupon_code="CPN-XXXXXX",
                             coupon_name="…")
    if actor.personal_data_view is PersonalDataView.PSEUDONYMOUS:
        pseudonym = pool_service.pseudonym_of(customer.id)
        values |= {"name": pseudonym, "nickname": pseudonym}
        shown = "pseudonymous"
    else:
        values |= {"name": mask_name(values["name"]) or "",
                   "nickname": mask_name(values["nickname"]) or ""}
        shown = "masked"
    return ContentPreview(text=render(content.body, values),
                          attachments=list(content.attachments), personal_data=shown)
