"""Follow-ups' public shapes (API and console)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from yutang.campaigns.follow_ups_models import FollowUpKind, TaskOutcome


class FollowUpRuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: FollowUpKind
    content_id: int
    """The script: approved content of the library."""
    days: int = Field(ge=0, le=3650)
    due_days: int = Field(default=2, ge=0, le=90)


class FollowUpRuleRead(BaseModel):
    id: int
    name: str
    kind: str
    content_id: int
    days: int
    due_days: int
    is_active: bool


class TaskDone(BaseModel):
    outcome: TaskOutcome
    note: str = Field(default="", max_length=500)
    next_contact_on: date | None = None
    """Opens the next task for the same customer and staff member, due that local day."""


class TaskRead(BaseModel):
    id: int
    rule_id: int
    rule_name: str
    kind: str
    customer_id: int
    customer_pseudonym: str
    customer_name: str | None
    """Masked (or absent for pseudonymous viewers)."""
    store_id: int | None
    assignee: str | None
    status: str
    due_at: datetime
    overdue: bool
    outcome: str | None
    note: str
    next_contact_on: date | None
    completed_at: datetime | None
    script: str
    """The rule's script with this customer's values, masked as the viewer sees them."""


class GenerationReport(BaseModel):
    created: dict[str, int]
    """New tasks by rule id (as text)."""
    unassigned: int


class StaffCompletion(BaseModel):
    """One staff member's tasks due in the period."""

    username: str
    display_name: str
    store_id: int | None
    assigned: int
    done: int
    skipped: int
    open: int
    overdue: int
    done_on_time: int
    completion_rate: float | None
    """(done + skipped) / assigned."""
