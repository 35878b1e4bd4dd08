"""Analytics use cases for the API and the console: the engine's results over the current
extract (never recomputed by a page), scoped to the viewer's store, and the refresh.

Results are cached per extract version (the state file's ``refreshed_at``) and parameters:
a page and the API asking for the same figure get the very same numbers, and a refresh makes
every cached result stale at once. A store-scoped principal (store manager) sees their
store's layering, funnel and reviews; the merchant-wide pages (CLV and CAC by channel,
cohorts) are for chain-wide roles. No result carries personal data: customers appear as
counts, never by name or phone.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.analytics import repository
from yutang.analytics.behaviour_sql import COHORTS, FUNNEL
from yutang.analytics.channel_value import ChannelValue, ValueOptions, channel_value
from yutang.analytics.engines import MetricEngine, open_engine
from yutang.analytics.errors import MerchantWideOnly, RefreshNotAllowed, ReportStoreNotFound
from yutang.analytics.extract_store import read_state, require_state
from yutang.analytics.layering import LayeringPolicy, compute_layers, layer_mix
from yutang.analytics.periods import Period, PeriodKind, day_number, period_containing
from yutang.analytics.refresh import EngineChoice, RefreshResult, refresh_analytics
from yutang.analytics.review_files import write_review
from yutang.analytics.review_fission import with_store_fission_kpis
from yutang.analytics.reviews import Review, build_review
from yutang.config import Settings
from yutang.kit.clock import to_local, utcnow

T = TypeVar("T")
CACHE_SIZE = 64


@dataclass(frozen=True)
class AnalyticsSetup:
    """Where the extract is and how the metrics run (from the settings)."""

    directory: Path
    timezone: str
    engine: EngineChoice
    policy: LayeringPolicy
    funnel_window_hours: int = 72

    @classmethod
    def from_settings(cls, settings: Settings) -> AnalyticsSetup:
        return cls(
            directory=settings.analytics_directory(), timezone=settings.timezone,
            engine=EngineChoice(name=settings.analytics_engine,
                                spark_master=settings.analytics_spark_master),
            policy=LayeringPolicy.of(
                method=settings.analytics_rfm_method,
                recency_days=settings.analytics_recency_days_thresholds,
                frequency=settings.analytics_frequency_thresholds,
                monetary_fen=settings.analytics_monetary_fen_thresholds,
                value_tier_scores=settings.analytics_value_tier_scores,
                new_days=settings.analytics_new_days, active_days=settings.analytics_active_days,
                lost_days=settings.analytics_lost_days),
            funnel_window_hours=settings.analytics_funnel_window_hours,
        )


# --- who sees what -------------------------------------------------------------------------


def store_scope(principal: Principal) -> int | None:
    """The store a principal's figures are limited to (``None``: the whole merchant)."""
    access_service.require(principal, Permission.ANALYTICS_READ)
    return principal.store_id if principal.is_store_scoped else None


def require_merchant_wide(principal: Principal) -> None:
    if store_scope(principal) is not None:
        raise MerchantWideOnly("these figures cover the whole merchant, not one store")


def may_refresh(principal: Principal) -> bool:
    """Chain-wide roles that read analytics (owner, HQ, analyst) may bring it up to date."""
    return principal.can(Permission.ANALYTICS_READ) and not principal.is_store_scoped


def today_local() -> date:
    return to_local(utcnow()).date()


# --- the extract and the cache -------------------------------------------------------------


@dataclass(frozen=True)
class ExtractStatus:
    refreshed_at: datetime | None
    rows: dict[str, int]


def extract_status(setup: AnalyticsSetup) -> ExtractStatus | None:
    """What the extract holds, or ``None`` before the first refresh."""
    state = read_state(setup.directory)
    if state is None or not state.tables:
        return None
    refreshed = datetime.fromisoformat(state.refreshed_at) if state.refreshed_at else None
    return ExtractStatus(refreshed_at=refreshed,
                         rows={name: table.rows for name, table in state.tables.items()})


_cache: OrderedDict[Hashable, Any] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(setup: AnalyticsSetup, key: Hashable, compute: Callable[[MetricEngine], T]) -> T:
    """``compute`` on a fresh engine, once per extract version and key (ExtractMissing when
    there is no extract yet)."""
    state = require_state(setup.directory)
    full_key = (str(setup.directory.resolve()), state.refreshed_at, setup.engine, setup.policy,
                key)
    with _cache_lock:
        if full_key in _cache:
            _cache.move_to_end(full_key)
            cached: T = _cache[full_key]
            return cached
    engine = open_engine(setup.engine.name, setup.directory,
                         spark_master=setup.engine.spark_master)
    try:
        result = compute(engine)
    finally:
        engine.close()
    with _cache_lock:
        _cache[full_key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# --- layering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayeringResult:
    as_of: date
    mix: pl.DataFrame
    """``layer_mix``: dimension (all, store, channel), key_id, key_code, layer_kind
    (value_tier, lifecycle_stage), layer, customers."""


def layering(setup: AnalyticsSetup, *, principal: Principal, as_of: date) -> LayeringResult:
    store_id = store_scope(principal)

    def compute(engine: MetricEngine) -> pl.DataFrame:
        compute_layers(engine, policy=setup.policy, as_of=as_of)
        return layer_mix(engine)

    mix = _cached(setup, ("layer_mix", as_of), compute)
    if store_id is not None:
        own = mix.filter((pl.col("dimension") == "store") & (pl.col("key_id") == store_id))
        mix = pl.concat([own.with_columns(pl.lit("all").alias("dimension"),
                                          pl.lit(None, pl.Int64).alias("key_id"),
                                          pl.lit(None, pl.String).alias("key_code")), own])
    return LayeringResult(as_of=as_of, mix=mix)


# --- CLV, CAC, payback and ROI -------------------------------------------------------------


def channel_values(setup: AnalyticsSetup, *, principal: Principal, as_of: date,
                   options: ValueOptions) -> ChannelValue:
    require_merchant_wide(principal)
    return _cached(setup, ("channel_value", as_of, options),
                   lambda engine: channel_value(engine, as_of=as_of, options=options))


# --- funnel and cohorts --------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelResult:
    period: Period
    window_hours: int
    rows: pl.DataFrame
    """dimension (all, channel, store), key_id, key_code, viewed, carted, checked_out, paid,
    completed: customers who viewed in the period and reached each step within the window."""


def funnel(setup: AnalyticsSetup, *, principal: Principal, kind: PeriodKind, day: date,
           window_hours: int | None = None) -> FunnelResult:
    store_id = store_scope(principal)
    period = period_containing(kind, day)
    hours = window_hours if window_hours is not None else setup.funnel_window_hours
    parameters = {"start_day": period.start_day, "end_day": period.end_day,
                  "window_s": hours * 3600}
    rows = _cached(setup, ("funnel", period.start_day, period.end_day, hours),
                   lambda engine: FUNNEL.run(engine, parameters))
    if store_id is not None:
        own = rows.filter((pl.col("dimension") == "store") & (pl.col("key_id") == store_id))
        rows = pl.concat([own.with_columns(pl.lit("all").alias("dimension"),
                                           pl.lit(None, pl.Int64).alias("key_id"),
                                           pl.lit(None, pl.String).alias("key_code")), own])
    return FunnelResult(period=period, window_hours=hours, rows=rows)


def cohorts(setup: AnalyticsSetup, *, principal: Principal, as_of: date) -> pl.DataFrame:
    """Monthly acquisition cohorts: per cohort and month since acquisition, the customers,
    the active ones, retention, revenue and cumulative revenue per customer."""
    require_merchant_wide(principal)
    return _cached(setup, ("cohorts", as_of),
                   lambda engine: COHORTS.run(engine, {"as_of_day": day_number(as_of)}))


# --- reviews -------------------------------------------------------------------------------


def default_review_day(kind: PeriodKind, today: date) -> date:
    """The last complete period: yesterday, last week, last month."""
    return period_containing(kind, today).previous().start


def review(session: Session, setup: AnalyticsSetup, *, principal: Principal, kind: PeriodKind,
           day: date, store_code: str | None = None) -> Review:
    """The review of the period containing ``day``; a store-scoped principal always gets
    their own store's."""
    store_id = store_scope(principal)
    if store_id is not None:
        store_code = repository.store_code_by_id(session, store_id)
    elif store_code:
        store_id = repository.store_id_by_code(session, store_code.strip())
        if store_id is None:
            raise ReportStoreNotFound(f"no store with the code {store_code!r}",
                                      store=store_code)
    else:
        store_code = None
    built = _cached(setup, ("review", kind, day, store_id),
                    lambda engine: build_review(
                        engine, kind=kind, day=day, store_id=store_id, store_code=store_code,
                        policy=setup.policy, funnel_window_hours=setup.funnel_window_hours))
    return with_store_fission_kpis(session, built, actor=principal)


def review_workbook(review_result: Review) -> bytes:
    """The review as an Excel workbook (the same writer as ``yutang report``)."""
    with tempfile.TemporaryDirectory(prefix="yutang-review-") as folder:
        path = Path(folder) / "review.xlsx"
        write_review(review_result, path)
        return path.read_bytes()


# --- refresh -------------------------------------------------------------------------------


def refresh(session: Session, setup: AnalyticsSetup, *, principal: Principal,
            as_of: date) -> RefreshResult:
    """``yutang analytics refresh`` for the console and the API."""
    if not may_refresh(principal):
        raise RefreshNotAllowed("only chain-wide roles bring analytics up to date")
    return refresh_analytics(session, actor=principal, directory=setup.directory,
                             timezone=setup.timezone, engine=setup.engine,
                             policy=setup.policy, as_of=as_of)


# --- presentation helpers ------------------------------------------------------------------


def frame_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: dates as ISO strings, NaN and infinities as null."""
    rows = frame.with_columns(pl.col(pl.Date).cast(pl.String)).to_dicts()
    for row in rows:
        for name, value in row.items():
            if isinstance(value, float) and (value != value or value in (float("inf"),
                                                                           float("-inf"))):
                row[name] = None
    return rows
