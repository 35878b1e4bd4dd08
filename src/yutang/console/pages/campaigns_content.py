"""The content library (话术/文案): the list by category and state, a form to write or edit a
template with its variables and one attachment by reference, approval, and a preview with a
real customer's values, masked as the viewer sees that customer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.campaigns import content as content_service
from yutang.campaigns.models import ContentCategory
from yutang.campaigns.schemas import ContentIn
from yutang.console.pages.campaigns_support import invalid_form, whole
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.web import DbSession

router = APIRouter(prefix="/campaigns/content")

ATTACHMENT_KINDS = ("image", "link", "miniprogram")


def _page(request: Request, session: DbSession, active: ConsoleSession, *,
          content_id: int | None, category: str = "", customer_id: str = "") -> Response:
    principal = active.principal
    chosen = content_service.get_content(session, content_id=content_id) \
        if content_id is not None else None
    preview = None
    customer = whole(customer_id, "customer_id")
    if chosen is not None and customer is not None:
        preview = content_service.preview_content(session, actor=principal,
                                                  content_id=chosen.id, customer_id=customer)
    return render(request, "campaigns_content.html", {
        "items": [content_service.present(item) for item in content_service.list_content(
            session, actor=principal, category=category or None)],
        "content": content_service.present(chosen) if chosen else None,
        "attachment": (chosen.attachments[0] if chosen and chosen.attachments else {}),
        "categories": [item.value for item in ContentCategory],
        "attachment_kinds": ATTACHMENT_KINDS, "variables": content_service.KNOWN_VARIABLES,
        "category": category, "customer_id": customer or "", "preview": preview,
    })


@router.get("")
def content_list(request: Request, session: DbSession, active: ConsoleSession,
                 category: str = "") -> Response:
    return _page(request, session, active, content_id=None, category=category)


@router.get("/{content_id:int}")
def content_edit(request: Request, session: DbSession, active: ConsoleSession,
                 content_id: int, customer_id: str = "") -> Response:
    return _page(request, session, active, content_id=content_id, customer_id=customer_id)


def _data(name: str, category: str, body: str, attachment_kind: str, attachment_url: str,
          attachment_title: str, attachment_appid: str, attachment_page: str) -> ContentIn:
    attachments: list[dict[str, Any]] = []
    if attachment_kind:
        attachments.append({"kind": attachment_kind, "url": attachment_url.strip(),
                            "title": attachment_title.strip(),
                            "appid": attachment_appid.strip(),
                            "page": attachment_page.strip()})
    try:
        return ContentIn.model_validate({"name": name, "category": category, "body": body,
                                         "attachments": attachments})
    except ValidationError as error:
        raise invalid_form(error) from error


Field = Annotated[str, Form()]


@router.post("")
def create_content(session: DbSession, active: ConsoleWrite, name: Field = "",
                   category: Field = "", body: Field = "", attachment_kind: Field = "",
                   attachment_url: Field = "", attachment_title: Field = "",
                   attachment_appid: Field = "", attachment_page: Field = "") -> Response:
    content = content_service.create_content(session, actor=active.principal, data=_data(
        name, category, body, attachment_kind, attachment_url, attachment_title,
        attachment_appid, attachment_page))
    return RedirectResponse(f"/console/campaigns/content/{content.id}", status_code=303)


@router.post("/{content_id:int}")
def update_content(session: DbSession, active: ConsoleWrite, content_id: int,
                   name: Field = "", category: Field = "", body: Field = "",
                   attachment_kind: Field = "", attachment_url: Field = "",
                   attachment_title: Field = "", attachment_appid: Field = "",
                   attachment_page: Field = "") -> Response:
    content_service.update_content(session, actor=active.principal, content_id=content_id,
                                   data=_data(name, category, body, attachment_kind,
                                              attachment_url, attachment_title,
                                              attachment_appid, attachment_page))
    return RedirectResponse(f"/console/campaigns/content/{content_id}", status_code=303)


@router.post("/{content_id:int}/approve")
def approve_content(session: DbSession, active: ConsoleWrite, content_id: int) -> Response:
    content_service.approve_content(session, actor=active.principal, content_id=content_id)
    return RedirectResponse(f"/console/campaigns/content/{content_id}", status_code=303)
