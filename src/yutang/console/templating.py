"""Rendering console pages: one Jinja2 environment, the catalog and the viewer in every page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from yutang.access.roles import Permission
from yutang.console.i18n import DEFAULT_LOCALE, LOCALE_COOKIE, SUPPORTED_LOCALES, supported
from yutang.console.i18n import translate as translate_message
from yutang.console.viewer import viewer_of
from yutang.kit.clock import format_local
from yutang.kit.money import format_yuan

TEMPLATE_DIR = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(("html",)),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["yuan"] = format_yuan
environment.filters["local_time"] = format_local


def _local_date(moment: datetime | None) -> str:
    return format_local(moment, with_time=False)


environment.filters["local_date"] = _local_date


def locale_of(request: Request) -> str:
    """The viewer's language: their choice (cookie), their profile, then the server default."""
    chosen = supported(request.cookies.get(LOCALE_COOKIE))
    if chosen:
        return chosen
    viewer = viewer_of(request)
    if viewer is not None and supported(viewer.locale):
        return str(viewer.locale)
    default = getattr(request.app.state.settings, "default_locale", DEFAULT_LOCALE)
    return supported(default) or DEFAULT_LOCALE


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    locale = locale_of(request)
    viewer = viewer_of(request)

    def t(key: str, **params: Any) -> str:
        return translate_message(locale, key, **params)

    def can(permission: str) -> bool:
        return viewer is not None and viewer.principal.can(Permission(permission))

    page = environment.get_template(template).render(
        {
            "request": request,
            "t": t,
            "can": can,
            "locale": locale,
            "locales": SUPPORTED_LOCALES,
            "viewer": viewer,
            "csrf_token": viewer.csrf_token if viewer else "",
            "current_path": request.url.path,
            **(context or {}),
        }
    )
    return HTMLResponse(page, status_code=status_code)
