"""What the analytics pages share: the setup from the settings, parameters read from the
query string with clear errors, number formatting, and the page for a missing extract (with
the refresh button for the roles that may run it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Request
from starlette.responses import Response

from yutang.access.service import ActiveSession
from yutang.analytics import service
from yutang.analytics.errors import BadAnalyticsParameter, ExtractMissing
from yutang.analytics.periods import PeriodKind, parse_period_kind
from yutang.console.templating import render
from yutang.kit.clock import format_local
from yutang.kit.money import format_yuan

TABS = ("layers", "value", "funnel", "cohorts", "reviews")


def setup_of(request: Request) -> service.AnalyticsSetup:
    return service.AnalyticsSetup.from_settings(request.app.state.settings)


def parse_day(text: str | None, name: str, default: date) -> date:
    if text is None or not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadAnalyticsParameter(f"{name} {text!r} is not a date (YYYY-MM-DD)",
                                    parameter=name, value=text) from None


def parse_kind(text: str | None) -> PeriodKind:
    return PeriodKind.MONTHLY if not text else parse_period_kind(text)


def parse_whole(text: str | None, name: str, default: int, *, low: int, high: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadAnalyticsParameter(f"{name} {text!r}: a whole number from {low} to {high}",
                                    parameter=name, value=text)
    return value


def yuan(fen: float | int | None) -> str:
    return "—" if fen is None else format_yuan(round(fen))


def yuan_number(fen: float | int | None) -> float | None:
    """Fen as yuan for a chart (two decimals)."""
    return None if fen is None else round(float(fen) / 100.0, 2)


def percent(ratio: float | None, digits: int = 1) -> str:
    return "—" if ratio is None else f"{ratio * 100:.{digits}f}%"


def number(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def change(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:+.1f}%"


FORMATS: dict[str, Callable[..., str]] = {"yuan": yuan, "percent": percent, "number": number,
                                          "change": change}


def page(request: Request, active: ActiveSession, template: str, tab: str,
         compute: Callable[[], dict[str, Any]]) -> Response:
    """The page, or — when there is no extract yet — the page that says so and offers the
    refresh (as ``yutang analytics refresh`` does it)."""
    setup = setup_of(request)
    may_refresh = service.may_refresh(active.principal)
    status = service.extract_status(setup)
    common = {"tab": tab, "tabs": TABS, "status": status, "may_refresh": may_refresh,
              "refreshed_at": format_local(status.refreshed_at) if status and
              status.refreshed_at else None, "back": str(request.url.path) + (
                  f"?{request.url.query}" if request.url.query else ""),
              "today": service.today_local().isoformat(), **FORMATS}
    try:
        context = compute()
    except ExtractMissing:
        return render(request, "analytics_missing.html", common, status_code=409)
    return render(request, template, {**common, **context})
