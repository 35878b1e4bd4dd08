"""``/connectors/wecom/callback``: WeCom's URL verification (GET) and its callbacks (POST).

A refused callback (bad signature, stale timestamp, wrong key or receive id, malformed XML)
gets a non-200 plain-text code and writes nothing. An authentic one is stored and applied in
one transaction and answered ``success``; a replay is answered ``success`` and does nothing.
The welcome message is sent after the commit, once the answer is on its way.
"""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session, sessionmaker

from yutang.config import Settings
from yutang.connectors.wecom import callbacks, service
from yutang.connectors.wecom.client import ClientRegistry, WeComClient
from yutang.connectors.wecom.schemas import CorpKeys
from yutang.kit.db import unit_of_work
from yutang.kit.errors import DomainError
from yutang.kit.web import Writer
from yutang.pool.oneid import OneIdPolicy

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
CALLBACK_PATH = "/connectors/wecom/callback"
MAX_BODY_BYTES = 256 * 1024
API_TIMEOUT_SECONDS = 2.0
"""Details fetched while WeCom waits (it gives up after 5 s) must come back quickly."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_for(request: Request, corp: CorpKeys) -> WeComClient:
    """The corp's API client, kept on the app so its access token is reused.

    Tests (and the demo) may set ``app.state.wecom_http`` to an ``httpx.Client`` that
    reaches the simulator in-process.
    """
    registry: ClientRegistry | None = getattr(request.app.state, "wecom_clients", None)
    if registry is None:
        http: httpx.Client | None = getattr(request.app.state, "wecom_http", None)
        # No retries here: WeCom wants its answer within 5 s, and details that cannot be
        # fetched at once are done without (the callback is recorded either way).
        registry = ClientRegistry(base_url=_settings(request).wecom_base_url,
                                  http=http or httpx.Client(timeout=API_TIMEOUT_SECONDS),
                                  busy_retries=0)
        request.app.state.wecom_clients = registry
    return registry.client(corp_id=corp.corp_id, secret=corp.secret)


def _refuse(error: DomainError) -> PlainTextResponse:
    log.warning("WeCom callback refused: %s (%s)", error.code, error.message)
    return PlainTextResponse(error.code, status_code=error.status)


def _query(msg_signature: str = "", timestamp: str = "",
           nonce: str = "") -> callbacks.CallbackQuery:
    return callbacks.CallbackQuery(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce)


async def _body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b""  # refused as malformed: no <Encrypt>
        chunks.append(chunk)
    return b"".join(chunks)


Query = Annotated[callbacks.CallbackQuery, Depends(_query)]
Body = Annotated[bytes, Depends(_body)]


@router.get(CALLBACK_PATH, response_class=PlainTextResponse)
def verify_url(request: Request, query: Query, echostr: str = "") -> PlainTextResponse:
    """Answer the decrypted ``echostr`` exactly (no quotes, BOM or newline)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    try:
        with unit_of_work(factory) as session:
            plain = callbacks.verify_url(
                session, query=query, echostr=echostr,
                window_seconds=_settings(request).wecom_callback_window_seconds)
    except DomainError as error:
        return _refuse(error)
    return PlainTextResponse(plain)


@router.post(CALLBACK_PATH, response_class=PlainTextResponse)
def receive_callback(request: Request, query: Query, body: Body, writer: Writer,
                     background: BackgroundTasks) -> PlainTextResponse:
    factory: sessionmaker[Session] = request.app.state.session_factory
    policy: OneIdPolicy = request.app.state.oneid_policy
    try:
        with unit_of_work(factory) as session:
            opened = callbacks.open_callback(
                session, query=query, body=body,
                window_seconds=_settings(request).wecom_callback_window_seconds)
            replay = callbacks.is_replay(session, opened)
        if replay:
            return PlainTextResponse("success")
        client = client_for(request, opened.corp)
        context = callbacks.fetch_context(client, opened)
        recorded = writer(lambda session: callbacks.record_callback(
            session, opened=opened, context=context, policy=policy))
    except DomainError as error:
        return _refuse(error)
    if recorded.outbox_ids:
        background.add_task(service.deliver_outbox, request.app.state.writer_session_factory,
                            client=client,
                            item_ids=recorded.outbox_ids)
    return PlainTextResponse("success")
