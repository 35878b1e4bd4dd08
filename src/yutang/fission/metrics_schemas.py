"""Fission metrics: the public shapes (``GET /api/v1/fission/metrics``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class KFactorRead(BaseModel):
    """K = invites per participant × conversion of an invite into a join = joins per
    participant; the interval is the 95% normal interval of that mean over participants."""

    value: float
    lower: float
    upper: float
    participants: int
    """Customers who could spread: holders of a customer or KOC referral code (of the task),
    and every customer who referred someone."""
    invites: int
    joins: int
    invites_per_participant: float
    conversion: float


class StepRead(BaseModel):
    step: str
    count: int
    rate_from_previous: float | None
    rate_from_clicked: float | None


class CycleTimeRead(BaseModel):
    """Viral cycle time: from a referrer's own join to their friend's join."""

    samples: int
    median_days: float | None
    mean_days: float | None
    click_to_join_median_hours: float | None
    join_to_first_order_median_days: float | None


class DepthRead(BaseModel):
    """Generations of customers bringing customers (joined edges; a root is depth 0)."""

    max_depth: int
    mean_depth: float
    customers_by_depth: list[int]


class SpreaderRead(BaseModel):
    customer_id: int | None
    """None for a viewer who sees pseudonymous ids only."""
    customer_ref: str
    direct_joins: int
    descendants: int
    """Everyone below them in the tree (joined)."""


class FissionMetricsRead(BaseModel):
    task_id: int | None
    since: datetime | None
    until: datetime | None
    edges: int
    rejected: int
    k_factor: KFactorRead
    steps: list[StepRead]
    cycle_time: CycleTimeRead
    depth: DepthRead
    top_spreaders: list[SpreaderRead]
    new_customers: int
    """Customers acquired in the period (all time without one)."""
    new_from_fission: int
    """Of them, those brought by a referral that joined (not rejected)."""
    share_new_from_fission: float | None
