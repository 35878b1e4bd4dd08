"""Where a channel code's link leads (``/r/{state}``): a public page for the customer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from yutang.console.templating import render
from yutang.kit.web import DbSession
from yutang.pool import channels

router = APIRouter()


@router.get("/r/{state}")
def landing(request: Request, session: DbSession, state: str) -> Response:
    code = channels.codes_for_states(session, {state}).get(state)
    if code is None or not code.is_active:
        return render(request, "landing.html", {"known": False}, status_code=404)
    return render(request, "landing.html", {"known": True})
