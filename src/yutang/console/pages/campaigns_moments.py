"""Staff Moments (朋友圈) in the console: for HQ and managers, the tasks with who posted and
the reach, a form to create one (a library template or free text, images and a link, the
stores or all, the due time) and a task's posts per staff member (a manager may mark one
posted for a staff member); for staff, a phone-sized page of their own posts with the copy to
post and the button that marks it posted."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.campaigns import content as content_service
from yutang.campaigns import moments, policy
from yutang.campaigns.models import ContentStatus
from yutang.campaigns.moments_models import MomentPostStatus
from yutang.campaigns.moments_schemas import MomentTaskIn
from yutang.console.pages.campaigns_support import (
    invalid_form,
    local_input,
    local_moment,
    whole,
)
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.clock import utcnow
from yutang.kit.web import DbSession
from yutang.org import service as org_service

router = APIRouter()

Field = Annotated[str, Form()]
DEFAULT_DUE = timedelta(days=1)
"""The form proposes a due time a day ahead."""


@router.get("/campaigns/moments")
def task_list(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    principal = active.principal
    tasks = moments.list_tasks(session, actor=principal)
    context: dict[str, Any] = {"tasks": tasks}
    if principal.can(policy.MANAGE):
        context |= {
            "templates": [content_service.present(item) for item in
                          content_service.list_content(session, actor=principal)
                          if item.status == ContentStatus.APPROVED.value
                          and item.category in moments.MOMENT_CATEGORIES],
            "stores": org_service.list_stores(session),
            "default_due": local_input(utcnow() + DEFAULT_DUE),
            "variables": moments.STAFF_VARIABLES,
        }
    return render(request, "campaigns_moments.html", context)


def _attachments(image_urls: str, link_url: str, link_title: str) -> list[dict[str, str]]:
    """One image per line, then the link."""
    items = [{"kind": "image", "url": line.strip()}
             for line in image_urls.splitlines() if line.strip()]
    if link_url.strip():
        items.append({"kind": "link", "url": link_url.strip(), "title": link_title.strip()})
    return items


@router.post("/campaigns/moments")
def create_task(
    session: DbSession, active: ConsoleWrite, title: Field = "", source: Field = "template",
    content_id: Field = "", body: Field = "", image_urls: Field = "", link_url: Field = "",
    link_title: Field = "", all_stores: Field = "",
    store_ids: Annotated[list[str] | None, Form()] = None, due_at: Field = "",
) -> Response:
    chosen = [whole(item, "store_ids") for item in store_ids or [] if item.strip()]
    try:
        data = MomentTaskIn.model_validate({
            "title": title,
            "content_id": whole(content_id, "content_id") if source == "template" else None,
            "body": body if source == "text" else None,
            "attachments": _attachments(image_urls, link_url, link_title),
            "all_stores": bool(all_stores),
            "store_ids": [] if all_stores else [item for item in chosen if item is not None],
            "due_at": local_moment(due_at, "due_at"),
        })
    except ValidationError as error:
        raise invalid_form(error) from error
    task = moments.create_task(session, actor=active.principal, data=data)
    return RedirectResponse(f"/console/campaigns/moments/{task.id}", status_code=303)


@router.get("/campaigns/moments/{task_id:int}")
def task_detail(request: Request, session: DbSession, active: ConsoleSession,
                task_id: int) -> Response:
    detail = moments.get_task(session, actor=active.principal, task_id=task_id)
    return render(request, "campaigns_moments_detail.html", {
        "task": detail.task, "posts": detail.posts})


@router.post("/campaigns/moments/{task_id:int}/posted")
def mark_for_staff(session: DbSession, active: ConsoleWrite, task_id: int,
                   staff_username: Field = "") -> Response:
    moments.mark_posted(session, actor=active.principal, task_id=task_id,
                        staff_username=staff_username or None)
    return RedirectResponse(f"/console/campaigns/moments/{task_id}", status_code=303)


@router.get("/moments")
def my_moments(request: Request, session: DbSession, active: ConsoleSession,
               status: str = "pending") -> Response:
    chosen = MomentPostStatus(status) if status in {item.value for item in MomentPostStatus} \
        else MomentPostStatus.PENDING
    return render(request, "campaigns_moments_mine.html", {
        "posts": moments.my_posts(session, actor=active.principal, status=chosen),
        "status": chosen.value, "statuses": [item.value for item in MomentPostStatus]})


@router.post("/moments/{task_id:int}/posted")
def mark_mine(session: DbSession, active: ConsoleWrite, task_id: int) -> Response:
    moments.mark_posted(session, actor=active.principal, task_id=task_id)
    return RedirectResponse("/console/moments", status_code=303)
