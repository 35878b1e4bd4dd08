"""Instants as epoch seconds in SQL, and back, on SQLite and PostgreSQL alike; with the
Asia/Shanghai arithmetic planning needs (quiet hours, the ISO week of a send).

Asia/Shanghai has had no daylight saving time since 1991: local time is UTC+8, so local
hours, days and weeks are plain integer arithmetic on epoch seconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, case, cast, func, literal_column

LOCAL_OFFSET_SECONDS = 8 * 3600
DAY_SECONDS = 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
QUIET_START_HOUR = 22
QUIET_END_HOUR = 8


def epoch_of(column: Any, dialect: str) -> Any:
    """Whole epoch seconds of a stored instant."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), BigInteger)


def instant_of(seconds: Any, dialect: str) -> Any:
    """The instant at ``seconds`` (an integer expression), stored as ``UTCDateTime`` is."""
    if dialect == "postgresql":
        return func.to_timestamp(seconds)
    return func.strftime("%Y-%m-%d %H:%M:%S.000000", seconds, literal_column("'unixepoch'"))


def local_seconds(seconds: Any) -> Any:
    return seconds + LOCAL_OFFSET_SECONDS


def local_hour(seconds: Any) -> Any:
    return (local_seconds(seconds) % DAY_SECONDS) // 3600


def is_quiet(seconds: Any) -> Any:
    hour = local_hour(seconds)
    return (hour >= QUIET_START_HOUR) | (hour < QUIET_END_HOUR)


def after_quiet_hours(seconds: Any) -> Any:
    """The send time moved out of quiet hours: to the next 08:00 local (unchanged outside)."""
    local = local_seconds(seconds)
    day_start = local - local % DAY_SECONDS
    hour = local_hour(seconds)
    morning = QUIET_END_HOUR * 3600 - LOCAL_OFFSET_SECONDS
    return case((hour >= QUIET_START_HOUR, day_start + DAY_SECONDS + morning),
                (hour < QUIET_END_HOUR, day_start + morning), else_=seconds)


def week_start(seconds: Any) -> Any:
    """Epoch seconds of Monday 00:00 (local) of the ISO week holding ``seconds``."""
    day = local_seconds(seconds) // DAY_SECONDS
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return (day - weekday) * DAY_SECONDS - LOCAL_OFFSET_SECONDS
