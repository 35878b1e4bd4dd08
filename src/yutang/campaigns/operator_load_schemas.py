"""The operator-load report's public shapes (API and console)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ActionSeconds(BaseModel):
    """Staff seconds each kind of action is estimated to take (the report's only
    assumption; every caller may set its own)."""

    confirm_task: int = Field(default=30, ge=0, le=3_600)
    """Open a mass-send task in the WeCom client, check it and confirm it (it then reaches
    all its customers or groups: up to 10,000 or 2,000)."""
    follow_up: int = Field(default=300, ge=0, le=7_200)
    """A follow-up (回访) done: read the script, reach the customer, record the outcome."""
    moment_post: int = Field(default=120, ge=0, le=3_600)
    """A Moments (朋友圈) post: copy the standard text and images, post, mark it posted."""


class StaffLoad(BaseModel):
    """One staff member's week (or the total of everyone's)."""

    staff_userid: str | None
    """The WeCom user id; None for sends recorded without one (before the sender kept it)
    and for follow-ups of a user without a WeCom id."""
    user_id: int | None
    name: str
    tasks_to_confirm: int
    """Mass-send tasks created under their name: distinct ``message_ref`` of their sent
    deliveries."""
    deliveries_sent: int
    customers_reached: int
    groups_reached: int
    follow_ups_done: int
    moments_posted: int
    """Moments posting tasks marked posted in the week."""
    staff_minutes: float
    """tasks × ``confirm_task`` s + follow-ups × ``follow_up`` s + Moments posts ×
    ``moment_post`` s."""
    customers_per_staff_hour: float | None
    """Customers reached per estimated staff hour (None without staff time)."""


class CampaignLoad(BaseModel):
    campaign_id: int
    name: str
    channel: str
    recipients: int
    """Deliveries sent in the week."""
    confirmations: int
    """Distinct mass-send tasks that carried them."""
    confirmations_per_1000_recipients: float
    staff_members: int
    per_customer_variables: list[str]
    """The content's variables that differ per customer (``{name}``, ``{coupon}`` …)."""
    one_task_per_recipient: bool
    """Those variables force a task, and a confirmation, for every recipient."""


class OperatorLoad(BaseModel):
    week: str
    """ISO week, ``2026-W50`` (Monday 00:00 to Monday 00:00, Asia/Shanghai)."""
    starts_at: datetime
    ends_at: datetime
    seconds: ActionSeconds
    staff: list[StaffLoad]
    total: StaffLoad
    staff_members: int
    campaigns: list[CampaignLoad]
    touches_scheduled: int
    """Customers and groups reached by the sender (campaigns sent on their schedule or
    trigger; a staff member only confirms the task)."""
    touches_by_hand: int
    """Follow-ups done and Moments posted: each one a staff member's own work."""
    scheduled_share: float | None
    """Scheduled ÷ all touches (None without touches)."""
    staff_tasks: int
    """Everything staff had to do by hand: tasks confirmed + follow-ups + Moments posts."""
    staff_tasks_per_member_per_day: float | None
    """``staff_tasks`` ÷ staff members with work ÷ 7 days."""
    pool_customers: int
    """Live customers in the pool (the viewer's store for a store role)."""
    staff_tasks_per_10000_customers: float | None
    """``staff_tasks`` per 10,000 pool customers: seed 003's scale figure — it must not grow
    with the pool."""
