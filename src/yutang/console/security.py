"""Console authentication: the session cookie, CSRF checks on every form, safe redirects."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from yutang.access import service as access_service
from yutang.access.errors import CsrfFailed
from yutang.access.service import ActiveSession
from yutang.config import Settings
from yutang.console.viewer import remember_viewer
from yutang.kit.errors import NotAuthenticated
from yutang.kit.web import DbSession

SESSION_COOKIE = "yutang_session"
LOGIN_CSRF_COOKIE = "yutang_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CONSOLE_HOME = "/console/"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def console_session(request: Request, session: DbSession) -> ActiveSession:
    """The logged-in user behind the session cookie, or a redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated("please log in")
    idle = timedelta(minutes=settings_of(request).session_idle_minutes)
    active = access_service.resume_console_session(session, token=token, idle=idle)
    remember_viewer(request, active)
    return active


def same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) header, when sent, must name this very host."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source is None
    return urlsplit(source).netloc == request.headers.get("host", request.url.netloc)


async def console_write(
    request: Request, active: Annotated[ActiveSession, Depends(console_session)]
) -> ActiveSession:
    """Every state-changing console request carries the session's CSRF token and our origin."""
    form = await request.form()
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    token = given if isinstance(given, str) else None
    if not same_origin(request) or not access_service.csrf_token_matches(
        active.record.csrf_token, token
    ):
        raise CsrfFailed("the form is missing its security token or comes from elsewhere")
    return active


ConsoleSession = Annotated[ActiveSession, Depends(console_session)]
ConsoleWrite = Annotated[ActiveSession, Depends(console_write)]


def new_login_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
        secure=settings_of(request).secure_cookies,
    )


def safe_next(target: str | None) -> str:
    """Only a path inside the console is a valid place to go after logging in."""
    if not target or not target.startswith("/console/") or target.startswith("//"):
        return CONSOLE_HOME
    if urlsplit(target).netloc or "\\" in target:
        return CONSOLE_HOME
    return target

