"""The metric set: every metric yutang computes on an engine, defined once."""

from __future__ import annotations

from yutang.analytics.acquisition_sql import (
    ACQUISITION_COST,
    ACQUISITION_COST_BY_CHANNEL,
    CHANNEL_MONTH_REVENUE,
    CLV_SUMMARY,
)
from yutang.analytics.behaviour_sql import (
    CAPTURE,
    COHORTS,
    FUNNEL,
    NEW_CUSTOMERS_BY_CHANNEL,
    SALES_CREDIT,
    SALES_SUMMARY,
)
from yutang.analytics.layering_sql import CUSTOMER_LAYERS, LAYER_MIX
from yutang.analytics.metric import Metric

METRICS: tuple[Metric, ...] = (
    CUSTOMER_LAYERS, LAYER_MIX, ACQUISITION_COST, ACQUISITION_COST_BY_CHANNEL, CLV_SUMMARY,
    CHANNEL_MONTH_REVENUE, FUNNEL, SALES_SUMMARY, SALES_CREDIT, NEW_CUSTOMERS_BY_CHANNEL,
    CAPTURE, COHORTS,
)
"""In dependency order: a metric's ``reads`` come before it."""

METRICS_BY_NAME = {metric.name: metric for metric in METRICS}
