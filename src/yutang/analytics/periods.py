"""Local days as numbers (the extract's ``*_day``) and the review periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from yutang.analytics.errors import BadReportDate, BadReportKind
from yutang.kit.clock import add_months, local_day_start_utc, month_start

EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    """Days since 1970-01-01: how the extract numbers local days."""
    return (day - EPOCH).days


def as_of_parameters(as_of: date) -> dict[str, int]:
    """``as_of_day`` (its local day number) and ``as_of_s`` (the epoch second it starts)."""
    return {"as_of_day": day_number(as_of),
            "as_of_s": int(local_day_start_utc(as_of).timestamp())}


class PeriodKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date
    """Exclusive."""

    @property
    def start_day(self) -> int:
        return day_number(self.start)

    @property
    def end_day(self) -> int:
        return day_number(self.end)

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if self.kind is PeriodKind.DAILY:
            return self.start.isoformat()
        if self.kind is PeriodKind.MONTHLY:
            return self.start.strftime("%Y-%m")
        return f"{self.start.isoformat()} – {last.isoformat()}"

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(days=1))


def period_containing(kind: PeriodKind, day: date) -> Period:
    """The day itself, its ISO week (Monday first), or its calendar month."""
    if kind is PeriodKind.DAILY:
        return Period(kind, day, day + timedelta(days=1))
    if kind is PeriodKind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=7))
    first = month_start(day)
    return Period(kind, first, add_months(first, 1))


def parse_period_kind(text: str) -> PeriodKind:
    try:
        return PeriodKind(text.strip().lower())
    except ValueError:
        raise BadReportKind(f"report {text!r}: daily, weekly or monthly") from None


def parse_report_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadReportDate(f"--date {text!r} is not a date (YYYY-MM-DD)") from None
