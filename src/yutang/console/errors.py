"""Domain errors as console pages: a translated message, or back to the login page."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from yutang.access.errors import SessionExpired
from yutang.console.i18n import has_message, translate
from yutang.console.templating import locale_of, render
from yutang.kit.errors import DomainError, NotAuthenticated


def login_redirect(request: Request, error: NotAuthenticated) -> Response:
    query = {"expired": "1"} if isinstance(error, SessionExpired) else {"next": request.url.path}
    target = f"/console/login?{urlencode(query)}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_message(request: Request, error: DomainError) -> str:
    """The catalog's text for the error code; the domain's own message if there is none."""
    key = f"error.{error.code}"
    locale = locale_of(request)
    if has_message(locale, key):
        return translate(locale, key, **error.details)
    return error.message


def render_domain_error(request: Request, error: DomainError) -> Response:
    if isinstance(error, NotAuthenticated):
        return login_redirect(request, error)
    return render(
        request,
        "error.html",
        {"code": error.code, "message": error_message(request, error)},
        status_code=error.status,
    )
