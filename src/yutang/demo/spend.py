"""What each channel cost per month: planted cost per new customer, noise, and fixed costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from yutang.demo.catalog import ChannelPlan
from yutang.demo.customers import AcquisitionWindow, CustomerPlan
from yutang.demo.draws import IntegerArray
from yutang.kit.clock import SHANGHAI, add_months

SPEND_NOISE = 0.1
"""Each month's variable cost is within ±10 % of the planted cost per new customer."""


@dataclass(frozen=True)
class SpendPlan:
    months: list[date]
    """The first day of each calendar month (Asia/Shanghai) of the window."""
    amount_fen: IntegerArray
    """Spend by channel (rows) and month (columns)."""
    new_customers: IntegerArray
    """Customers acquired by channel and month."""

    def by_channel_and_month(self, channels: list[ChannelPlan]) -> dict[str, dict[str, int]]:
        labels = [month.strftime("%Y-%m") for month in self.months]
        return {
            channel.code: dict(zip(labels, row, strict=True))
            for channel, row in zip(channels, self.amount_fen.tolist(), strict=True)
        }


def local_months(moments: IntegerArray, first_month: date) -> IntegerArray:
    """Calendar month in Asia/Shanghai of each instant, counted from ``first_month``."""
    offset = SHANGHAI.utcoffset(datetime(first_month.year, first_month.month, 1, tzinfo=UTC))
    local = (moments + int(offset.total_seconds() if offset else 0)).astype("datetime64[s]")
    first = np.datetime64(first_month.strftime("%Y-%m"), "M")
    months: IntegerArray = (local.astype("datetime64[M]") - first).astype(np.int64)
    return months


def plan_spend(
    rng: np.random.Generator,
    customers: CustomerPlan,
    channels: list[ChannelPlan],
    window: AcquisitionWindow,
    months: int,
) -> SpendPlan:
    first_month = datetime.fromtimestamp(window.start, SHANGHAI).date()
    month = local_months(customers.acquired_at, first_month)
    new_customers = np.bincount(
        customers.channel * months + month, minlength=len(channels) * months
    ).reshape(len(channels), months)
    cost = np.asarray([channel.template.cost_per_customer_fen for channel in channels])
    fixed = np.asarray([channel.template.monthly_fixed_fen for channel in channels])
    noise = 1 + SPEND_NOISE * (2 * rng.random((len(channels), months)) - 1)
    amount = np.rint(new_customers * cost[:, None] * noise).astype(np.int64) + fixed[:, None]
    return SpendPlan(
        months=[add_months(first_month, offset) for offset in range(months)],
        amount_fen=amount,
        new_customers=new_customers,
    )
