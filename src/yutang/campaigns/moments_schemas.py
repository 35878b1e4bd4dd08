"""Staff Moments' public shapes (API and console)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from yutang.campaigns.schemas import Attachment


class MomentTaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=100)
    body: str | None = Field(default=None, max_length=2000)
    """Free text copy; or ``content_id``, not both."""
    content_id: int | None = None
    """An approved template of the library (value content, promotion or partner offer)."""
    attachments: list[Attachment] = Field(default_factory=list, max_length=9)
    """Images and links to post with the copy (after the template's own)."""
    store_ids: list[int] = Field(default_factory=list, max_length=10_000)
    all_stores: bool = False
    """Every store's staff must post (then ``store_ids`` stays empty)."""
    due_at: datetime
    """Naive times are read as UTC."""


class MomentMark(BaseModel):
    staff_username: str | None = Field(default=None, max_length=64)
    """Whose post: the caller's own when absent (a staff member's login); a store manager
    or HQ may name a staff member."""


class MomentTaskRead(BaseModel):
    id: int
    title: str
    body: str
    content_id: int | None
    content_version: int | None
    attachments: list[dict[str, Any]]
    all_stores: bool
    store_ids: list[int]
    due_at: datetime
    is_due: bool
    """The due time has passed: posts still pending are expired."""
    created_by: str
    created_at: datetime
    assigned: int
    posted: int
    pending: int
    expired: int
    reach: int
    """Friends of the staff who posted."""
    potential_reach: int
    """Friends of every assigned staff member."""
    completion_rate: float | None
    """posted / assigned."""


class MomentPostRead(BaseModel):
    task_id: int
    staff_user_id: int
    username: str
    display_name: str
    store_id: int
    store_code: str
    status: str
    """pending, posted or expired (a pending post past the due time reads as expired)."""
    friend_count: int
    posted_at: datetime | None
    marked_by: str | None


class MomentTaskDetail(BaseModel):
    task: MomentTaskRead
    posts: list[MomentPostRead]


class MyMomentRead(BaseModel):
    """One post of the acting staff member, with the copy as they post it."""

    task_id: int
    title: str
    text: str
    """The copy with ``{store}``, ``{city}`` and ``{date}`` of the staff member's store."""
    attachments: list[dict[str, Any]]
    due_at: datetime
    status: str
    friend_count: int
    posted_at: datetime | None
