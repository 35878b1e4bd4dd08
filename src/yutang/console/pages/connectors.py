"""Connector settings (WeCom, Official Account, webhook sources: secrets stored encrypted and
shown masked), a live log of received callbacks with their outcome, and a test button that
plays a WeCom round trip through the simulator."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from yutang.access import service as access_service
from yutang.connectors import overview, selftest
from yutang.connectors.official_account import service as official_account_service
from yutang.connectors.official_account.schemas import AccountConfigIn
from yutang.connectors.webhooks import service as webhooks_service
from yutang.connectors.wecom import service as wecom_service
from yutang.connectors.wecom.schemas import CorpConfigIn
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.db import unit_of_work
from yutang.kit.web import DbSession

router = APIRouter()
WECOM_CALLBACK_PATH = "/connectors/wecom/callback"


def _page(request: Request, session: DbSession, active: ConsoleSession,
          **extra: Any) -> Response:
    return render(request, "connectors.html", {
        "settings": overview.settings(session, actor=active.principal),
        "log": overview.recent_log(session, actor=active.principal),
        "base_url": str(request.base_url).rstrip("/"), "issued": None, "round_trip": None,
        "recorded": None, **extra})


@router.get("/connectors")
def connectors_page(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    return _page(request, session, active)


@router.get("/connectors/log")
def connectors_log(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    """The log alone, polled by the page (htmx) so arrivals show up live."""
    return render(request, "connectors_log.html",
                  {"log": overview.recent_log(session, actor=active.principal)})


@router.post("/connectors/wecom")
def configure_wecom(
    session: DbSession, active: ConsoleWrite, corp_id: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "", aes_key: Annotated[str, Form()] = "",
    secret: Annotated[str, Form()] = "", agent_id: Annotated[str, Form()] = "",
) -> Response:
    wecom_service.configure_corp(session, actor=active.principal, data=CorpConfigIn(
        corp_id=corp_id, token=token, encoding_aes_key=aes_key, secret=secret,
        agent_id=agent_id))
    return RedirectResponse("/console/connectors", status_code=303)


@router.post("/connectors/official-account")
def configure_official_account(
    session: DbSession, active: ConsoleWrite, app_id: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "", aes_key: Annotated[str, Form()] = "",
    secret: Annotated[str, Form()] = "", mode: Annotated[str, Form()] = "",
) -> Response:
    official_account_service.configure_account(session, actor=active.principal,
                                               data=AccountConfigIn(
        app_id=app_id, token=token, encoding_aes_key=aes_key, secret=secret,
        mode=mode or None))
    return RedirectResponse("/console/connectors", status_code=303)


@router.post("/connectors/webhooks")
def add_webhook_source(request: Request, session: DbSession, active: ConsoleWrite,
                       name: Annotated[str, Form()] = "") -> Response:
    issued = webhooks_service.add_source(session, actor=active.principal, name=name)
    session.flush()
    return _page(request, session, active, issued=issued)


def _round_trip(request: Request, active: ConsoleSession) -> selftest.RoundTrip:
    with unit_of_work(request.app.state.session_factory) as session:
        access_service.require(active.principal, overview.CONFIGURE_PERMISSION)
        keys = wecom_service.corp_keys(session)
        staff = next(iter(wecom_service.staff_userids(session)), "selftest")
    http: httpx.Client | None = getattr(request.app.state, "connectors_selftest_http", None)
    return selftest.wecom_round_trip(
        keys=keys, staff=staff, http=http,
        callback_url=str(request.base_url).rstrip("/") + WECOM_CALLBACK_PATH)


@router.post("/connectors/wecom/test")
async def wecom_test(request: Request, session: DbSession, active: ConsoleWrite) -> Response:
    """Play one customer adding a staff member through the simulator; show the outcome."""
    session.commit()  # the callback writes in its own transaction: release this one first
    result = await run_in_threadpool(_round_trip, request, active)
    log = overview.recent_log(session, actor=active.principal)
    recorded = next((line for line in log if line.connector == "wecom"), None)
    return _page(request, session, active, round_trip=result, recorded=recorded)
