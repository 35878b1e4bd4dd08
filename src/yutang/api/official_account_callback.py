"""``/connectors/official-account/callback``: the Official Account's server URL check (GET)
and its messages (POST), in plaintext or safe (encrypted) mode.

A refused callback (bad signature, stale timestamp, wrong AES key or AppID, malformed XML,
a plaintext body in safe mode) gets a non-200 plain-text code and writes nothing. An
authentic one is stored and applied in one transaction and answered ``success``; a replay
is answered ``success`` and does nothing.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session, sessionmaker

from yutang.api.wecom_callback import Body
from yutang.config import Settings
from yutang.connectors.official_account import callbacks
from yutang.kit.db import unit_of_work
from yutang.kit.errors import DomainError
from yutang.kit.web import Writer
from yutang.pool.oneid import OneIdPolicy

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
CALLBACK_PATH = "/connectors/official-account/callback"


def _window(request: Request) -> int:
    settings: Settings = request.app.state.settings
    return settings.wecom_callback_window_seconds


def _refuse(error: DomainError) -> PlainTextResponse:
    log.warning("Official Account callback refused: %s (%s)", error.code, error.message)
    return PlainTextResponse(error.code, status_code=error.status)


def _query(signature: str = "", timestamp: str = "", nonce: str = "", encrypt_type: str = "",
           msg_signature: str = "", openid: str = "") -> callbacks.CallbackQuery:
    return callbacks.CallbackQuery(signature=signature, timestamp=timestamp, nonce=nonce,
                                   encrypt_type=encrypt_type, msg_signature=msg_signature,
                                   openid=openid)


Query = Annotated[callbacks.CallbackQuery, Depends(_query)]


@router.get(CALLBACK_PATH, response_class=PlainTextResponse)
def verify_url(request: Request, query: Query, echostr: str = "") -> PlainTextResponse:
    """Answer ``echostr`` exactly as it came (no quotes, BOM or newline)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    try:
        with unit_of_work(factory) as session:
            answer = callbacks.verify_url(session, query=query, echostr=echostr,
                                          window_seconds=_window(request))
    except DomainError as error:
        return _refuse(error)
    return PlainTextResponse(answer)


@router.post(CALLBACK_PATH, response_class=PlainTextResponse)
def receive_callback(request: Request, query: Query, body: Body,
                     writer: Writer) -> PlainTextResponse:
    factory: sessionmaker[Session] = request.app.state.session_factory
    policy: OneIdPolicy = request.app.state.oneid_policy
    try:
        with unit_of_work(factory) as session:
            opened = callbacks.open_callback(session, query=query, body=body,
                                             window_seconds=_window(request))
            replay = callbacks.is_replay(session, opened)
        if not replay:
            writer(lambda session: callbacks.record_callback(session, opened=opened,
                                                             policy=policy))
    except DomainError as error:
        return _refuse(error)
    return PlainTextResponse("success")
