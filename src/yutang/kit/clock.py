"""Time: stored in UTC, shown in Asia/Shanghai (or the configured zone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_now_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (tests replace the source: ``set_now_source``)."""
    return _now_source()


def set_now_source(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); ``None`` restores the system clock."""
    global _now_source
    _now_source = source if source is not None else (lambda: datetime.now(UTC))


def ensure_utc(moment: datetime) -> datetime:
    """Interpret a naive datetime as UTC and convert an aware one to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_local(moment: datetime, zone: ZoneInfo = SHANGHAI) -> datetime:
    return ensure_utc(moment).astimezone(zone)


def format_local(moment: datetime | None, zone: ZoneInfo = SHANGHAI, with_time: bool = True) -> str:
    if moment is None:
        return ""
    local = to_local(moment, zone)
    return local.strftime("%Y-%m-%d %H:%M") if with_time else local.strftime("%Y-%m-%d")


def local_day_start_utc(day: date, zone: ZoneInfo = SHANGHAI) -> datetime:
    """The UTC instant at which ``day`` begins in ``zone``."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    return date(year, month_index % 12 + 1, 1)


__all__ = [
    "SHANGHAI",
    "add_months",
    "ensure_utc",
    "format_local",
    "local_day_start_utc",
    "month_start",
    "set_now_source",
    "timedelta",
    "to_local",
    "utcnow",
]
