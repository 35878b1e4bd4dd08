"""Staff Moments (朋友圈): posting tasks, who posted, and the reach (public contract: paths,
fields, codes). Writes run in one writer transaction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.campaigns import moments
from yutang.campaigns.moments_models import MomentPost
from yutang.campaigns.moments_schemas import (
    MomentMark,
    MomentTaskDetail,
    MomentTaskIn,
    MomentTaskRead,
)
from yutang.kit.web import DbSession

router = APIRouter(tags=["moments"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "`moment_post_not_yours`: staff mark their own posts only"},
    404: {"description": "`moment_task_not_found`, `moment_post_not_found`, "
                         "`content_not_found`"},
    409: {"description": "`content_not_approved`, `moment_no_staff`, `moment_task_expired`"},
    422: {"description": "`invalid_moment_task` (details.field), `moment_copy_unsuitable`, "
                         "`moment_due_in_past`, `unknown_template_variable`, "
                         "`moment_staff_required`"},
}


def _posted(post: MomentPost) -> dict[str, Any]:
    return {"task_id": post.task_id, "staff_user_id": post.staff_user_id,
            "status": post.status, "friend_count": post.friend_count,
            "posted_at": post.posted_at.isoformat() if post.posted_at else None,
            "marked_by": post.marked_by}


@router.post("/moment-tasks", status_code=201, response_model=MomentTaskRead,
             responses=_ERRORS)
def create_moment_task(data: MomentTaskIn, writer: ApiWriter) -> JSONResponse:
    """A posting task: the copy (free text, or an approved library template, frozen now),
    images and links, the stores whose staff must post (or ``all_stores``) and the due
    time. Every active staff member of those stores gets a pending post."""
    def create(session: Session, principal: Principal) -> MomentTaskRead:
        task = moments.create_task(session, actor=principal, data=data)
        return moments.get_task(session, actor=principal, task_id=task.id).task

    return JSONResponse(writer(create).model_dump(mode="json"), status_code=201)


@router.get("/moment-tasks")
def list_moment_tasks(principal: ApiPrincipal, session: DbSession) -> list[MomentTaskRead]:
    """The latest tasks with assigned, posted, pending and expired posts, the reach (friends
    of the staff who posted) and the potential reach (of every assigned staff member); a
    store's key counts its own staff only."""
    return moments.list_tasks(session, actor=principal)


@router.get("/moment-tasks/{task_id}", responses=_ERRORS)
def get_moment_task(task_id: int, principal: ApiPrincipal,
                    session: DbSession) -> MomentTaskDetail:
    """A task with every staff member's post: posted or not, when, by whom, their friends."""
    return moments.get_task(session, actor=principal, task_id=task_id)


@router.post("/moment-tasks/{task_id}/posted", responses=_ERRORS)
def mark_moment_posted(task_id: int, data: MomentMark, writer: ApiWriter) -> dict[str, Any]:
    """Mark a staff member's post done (idempotent: again changes and counts nothing)."""
    return writer(lambda session, principal: _posted(moments.mark_posted(
        session, actor=principal, task_id=task_id, staff_username=data.staff_username)))
