"""Logging in and out, and choosing the console's language."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from yutang.access import service as access_service
from yutang.access.errors import CsrfFailed
from yutang.console.errors import error_message
from yutang.console.i18n import LOCALE_COOKIE, supported
from yutang.console.security import (
    CONSOLE_HOME,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleWrite,
    new_login_csrf_token,
    safe_next,
    same_origin,
    set_cookie,
    settings_of,
)
from yutang.console.templating import render
from yutang.kit.web import DbSession, client_address

router = APIRouter()

ONE_YEAR = 365 * 24 * 3600


def _login_page(
    request: Request,
    *,
    next_path: str,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> Response:
    """The login form with a fresh double-submit CSRF token (cookie and hidden field)."""
    token = new_login_csrf_token()
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "next_path": next_path,
            "error": error,
            "notice": notice,
            "username": username,
        },
        status_code=status_code,
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


@router.get("/login")
def login_form(
    request: Request, next: str | None = None, expired: str | None = None,
    logged_out: str | None = None,
) -> Response:
    notice = None
    if expired:
        notice = "auth.session_expired"
    elif logged_out:
        notice = "auth.logged_out"
    return _login_page(request, next_path=safe_next(next), notice=notice)


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = CONSOLE_HOME,
) -> Response:
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if (
        not expected
        or not access_service.csrf_token_matches(expected, csrf_token)
        or not same_origin(request)
    ):
        failure = CsrfFailed("the login form is missing its security token")
        return _login_page(
            request, next_path=next_path, error=error_message(request, failure),
            username=username, status_code=failure.status,
        )
    settings = settings_of(request)
    result = access_service.attempt_login(
        session,
        username=username,
        password=password,
        client_address=client_address(request),
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
    )
    if result.error is not None or result.user is None:
        assert result.error is not None
        return _login_page(
            request, next_path=next_path, error=error_message(request, result.error),
            username=username, status_code=result.error.status,
        )
    lifetime = timedelta(hours=settings.session_absolute_hours)
    opened = access_service.open_console_session(session, user=result.user, lifetime=lifetime)
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, opened.token,
               max_age=int(lifetime.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, active: ConsoleWrite) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    access_service.end_console_session(session, token=token)
    response = RedirectResponse("/console/login?logged_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{locale}")
def choose_language(request: Request, locale: str, back: str | None = None) -> Response:
    """Remember the language in a cookie (not a state change on the server: a GET is fine)."""
    response = RedirectResponse(safe_next(back), status_code=303)
    chosen = supported(locale)
    if chosen:
        set_cookie(request, response, LOCALE_COOKIE, chosen, max_age=ONE_YEAR)
    return response
