"""The few set-based reads behind the fission metrics: the edges as columns of numbers
(instants as epoch seconds, computed by the database), the participants, the new customers.
Each read is one statement whose integer columns arrive as numpy arrays
(``metrics_columns.integer_columns``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, ColumnElement, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from yutang.fission.metrics_columns import integer_columns
from yutang.fission.metrics_ids import distinct, is_in
from yutang.fission.models import CUSTOMER_OWNER_KINDS, EdgeStatus, ReferralCode, ReferralEdge
from yutang.pool.models import Customer

NO_TIME = -1.0
REJECTED_FLAG = 1
REWARDED_FLAG = 2
FLAG_BITS = 2
"""The referrer column carries the edge's flags in its low bits (one column fewer to read)."""


@dataclass(frozen=True)
class Scope:
    task_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    store_id: int | None = None
    """Only edges whose referee belongs to this store (store-scoped viewers)."""


@dataclass(frozen=True)
class EdgeColumns:
    """One entry per edge; customer ids 0 where there is none; times in epoch seconds,
    ``NO_TIME`` where the step was not reached."""

    referee: NDArray[np.int64]
    referrer: NDArray[np.int64]
    rejected: NDArray[np.bool_]
    clicked: NDArray[np.float64]
    joined: NDArray[np.float64]
    first_order: NDArray[np.float64]
    rewarded: NDArray[np.bool_]
    """Whether the step was reached (its time is used by no metric)."""

    @property
    def count(self) -> int:
        return int(self.referee.shape[0])


def _epoch(session: Session, column: Any) -> ColumnElement[int]:
    """Whole epoch seconds, ``NO_TIME`` for none, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        # date_part: a double (microseconds are exact at this magnitude), not the numeric
        # of EXTRACT, which costs several times more per row.
        value: ColumnElement[Any] = func.floor(func.date_part("epoch", column))
    else:  # SQLite stores naive UTC text; julianday reads it in C
        value = func.round((func.julianday(column) - literal_column("2440587.5"))
                           * literal_column("86400.0"))
    return func.coalesce(cast(value, BigInteger), literal_column(str(int(NO_TIME))))


def _edge_filters(scope: Scope) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if scope.task_id is not None:
        filters.append(ReferralEdge.task_id == scope.task_id)
    if scope.since is not None:
        filters.append(ReferralEdge.clicked_at >= scope.since)
    if scope.until is not None:
        filters.append(ReferralEdge.clicked_at < scope.until)
    if scope.store_id is not None:
        filters.append(ReferralEdge.referee_customer_id.in_(
            select(Customer.id).where(Customer.store_id == scope.store_id)))
    return filters


def edge_columns(session: Session, scope: Scope) -> EdgeColumns:
    """The edges in scope as columns (one statement, read without a Python object per
    value: ``metrics_columns``)."""
    flags = (func.coalesce(ReferralEdge.referrer_customer_id, 0) * (1 << FLAG_BITS)
             + case((ReferralEdge.status == EdgeStatus.REJECTED.value, REJECTED_FLAG),
                    else_=0)
             + case((ReferralEdge.rewarded_at.is_not(None), REWARDED_FLAG), else_=0))
    referee, referrer_and_flags, clicked, joined, first_order = integer_columns(
        session, select(ReferralEdge.referee_customer_id, flags,
                        _epoch(session, ReferralEdge.clicked_at),
                        _epoch(session, ReferralEdge.joined_at),
                        _epoch(session, ReferralEdge.first_order_at))
        .where(*_edge_filters(scope)))
    return EdgeColumns(
        referee=referee, referrer=referrer_and_flags >> FLAG_BITS,
        rejected=(referrer_and_flags & REJECTED_FLAG) > 0,
        clicked=clicked.astype(np.float64), joined=joined.astype(np.float64),
        first_order=first_order.astype(np.float64),
        rewarded=(referrer_and_flags & REWARDED_FLAG) > 0)


def code_holders(session: Session, scope: Scope) -> NDArray[np.int64]:
    """Customers holding a customer or KOC code (of the task), made before the period ends
    (one entry per code: a customer may appear more than once)."""
    filters: list[ColumnElement[bool]] = [
        ReferralCode.owner_kind.in_([kind.value for kind in CUSTOMER_OWNER_KINDS]),
        ReferralCode.customer_id.is_not(None)]
    if scope.task_id is not None:
        filters.append(ReferralCode.task_id == scope.task_id)
    if scope.until is not None:
        filters.append(ReferralCode.created_at < scope.until)
    if scope.store_id is not None:
        filters.append(ReferralCode.store_id == scope.store_id)
    (holders,) = integer_columns(session, select(ReferralCode.customer_id).where(*filters))
    return holders


def new_customers(session: Session, scope: Scope,
                  edges: EdgeColumns | None = None) -> tuple[int, int]:
    """(customers acquired in the period, of whom brought by a joined, not rejected
    referral). ``edges``: the edges already read for ``scope``; without a period they hold
    every referral a customer in scope came by, so the customers need only be counted."""
    filters: list[ColumnElement[bool]] = [Customer.merged_into_id.is_(None)]
    if scope.store_id is not None:
        filters.append(Customer.store_id == scope.store_id)
    referred_filters: list[ColumnElement[bool]] = [
        ReferralEdge.joined_at.is_not(None), ReferralEdge.status != EdgeStatus.REJECTED.value]
    if scope.task_id is not None:
        referred_filters.append(ReferralEdge.task_id == scope.task_id)
    if edges is not None and scope.since is None and scope.until is None:
        total = session.scalar(select(func.count()).select_from(Customer).where(*filters))
        referred = distinct(edges.referee[~edges.rejected & (edges.joined >= 0)])
        (merged,) = integer_columns(session, select(Customer.id).where(
            Customer.merged_into_id.is_not(None)))
        return int(total or 0), int(referred.shape[0] - np.count_nonzero(
            is_in(referred, merged)))
    if scope.since is not None:
        filters.append(Customer.acquired_at >= scope.since)
    if scope.until is not None:
        filters.append(Customer.acquired_at < scope.until)
    (acquired,) = integer_columns(session, select(Customer.id).where(*filters))
    (referred,) = integer_columns(session, select(ReferralEdge.referee_customer_id)
                                  .where(*referred_filters))
    return int(acquired.shape[0]), int(np.count_nonzero(is_in(acquired, referred)))
