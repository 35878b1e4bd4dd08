"""When a campaign's runs fall: once, every week at a local weekday and time, or every local
day for triggered campaigns (each customer's own moment is computed in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from yutang.campaigns.models import Campaign, ScheduleKind
from yutang.kit.clock import SHANGHAI, ensure_utc, local_day_start_utc, to_local

PLANNING_HORIZON = timedelta(days=1)
"""Runs are planned up to a day ahead (the plan preview shows them) …"""
CATCH_UP = timedelta(days=1)
"""… and up to a day late (a planner that was down plans what it missed)."""


@dataclass(frozen=True)
class Occurrence:
    key: str
    at: datetime
    """UTC: the send time of a once/recurring run, the local day's start of a triggered one."""


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def local_at(day: date, clock: str) -> datetime:
    moment = datetime.combine(day, _clock(clock), tzinfo=SHANGHAI)
    return ensure_utc(moment)


def occurrences(campaign: Campaign, *, now: datetime) -> list[Occurrence]:
    """The runs due for planning at ``now`` (some may be planned already)."""
    earliest, latest = now - CATCH_UP, now + PLANNING_HORIZON
    if campaign.starts_at is not None:
        earliest = max(earliest, campaign.starts_at)
    if campaign.ends_at is not None:
        latest = min(latest, campaign.ends_at)
    kind = ScheduleKind(campaign.schedule_kind)
    if kind is ScheduleKind.ONCE:
        at = campaign.send_at
        due = at is not None and earliest <= at <= latest
        return [Occurrence("once", at)] if due and at is not None else []
    found: list[Occurrence] = []
    first_day = to_local(earliest).date()
    for offset in range((to_local(latest).date() - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        if kind is ScheduleKind.RECURRING:
            if day.isoweekday() != campaign.weekday:
                continue
            at = local_at(day, campaign.time_of_day)
            if earliest <= at <= latest:
                found.append(Occurrence(to_local(at).strftime("%Y-%m-%dT%H:%M"), at))
        else:
            start = local_day_start_utc(day)
            if start <= now and start >= earliest - timedelta(days=1):
                found.append(Occurrence(day.isoformat(), start))
    return found
