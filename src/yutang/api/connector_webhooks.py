"""``POST /connectors/webhooks/{source}/events`` and ``/orders``: the ingestion API's payloads
pushed by a mini-program, an app or a POS, signed per source (``connectors.webhooks.signing``).

Refusals answer JSON ``{"error": {"code", ...}}``: 404 ``unknown_source``, 401
``bad_signature``, 401 ``stale_timestamp``, 409 ``replayed``; nothing is written. A body that
is not ``{"events": [...]}`` / ``{"orders": [...]}`` is 422 ``invalid_payload``, as on the API.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from yutang.api.batch_body import read_batch
from yutang.connectors.webhooks import service, signing
from yutang.connectors.webhooks.models import DeliveryKind
from yutang.kit.clock import utcnow
from yutang.kit.db import unit_of_work
from yutang.kit.errors import DomainError
from yutang.kit.web import Writer
from yutang.pool import ingestion
from yutang.pool.oneid import OneIdPolicy

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])


def _secret(factory: sessionmaker[Session], source: str) -> str:
    with unit_of_work(factory) as session:
        return service.source_secret(session, source)


def _refuse(error: DomainError) -> JSONResponse:
    log.warning("webhook delivery refused: %s (%s)", error.code, error.message)
    return JSONResponse(error.as_payload(), status_code=error.status)


async def _receive(request: Request, writer: Writer, source: str,
                   kind: DeliveryKind) -> JSONResponse:
    policy: OneIdPolicy = request.app.state.oneid_policy
    body = await request.body()
    try:
        secret = await run_in_threadpool(_secret, request.app.state.session_factory, source)
        verified = signing.verify(
            secret, timestamp=request.headers.get(signing.TIMESTAMP_HEADER),
            given=request.headers.get(signing.SIGNATURE_HEADER), body=body, now=utcnow())
    except DomainError as error:
        return _refuse(error)
    records: list[Any] = await read_batch(request, kind.value)
    try:
        prepared = (await run_in_threadpool(ingestion.prepare_events, records, policy=policy)
                    if kind is DeliveryKind.EVENTS else None)
        result = await run_in_threadpool(writer, lambda session: service.receive(
            session, source_name=source, kind=kind, verified=verified, records=records,
            policy=policy, prepared=prepared))
    except DomainError as error:
        return _refuse(error)
    return JSONResponse(result.model_dump())


@router.post("/connectors/webhooks/{source}/events")
async def receive_events(source: str, request: Request, writer: Writer) -> JSONResponse:
    """The body of ``POST /api/v1/events``, signed; answers its ``BatchResult``."""
    return await _receive(request, writer, source, DeliveryKind.EVENTS)


@router.post("/connectors/webhooks/{source}/orders")
async def receive_orders(source: str, request: Request, writer: Writer) -> JSONResponse:
    """The body of ``POST /api/v1/orders``, signed; answers its ``OrderBatchResult``."""
    return await _receive(request, writer, source, DeliveryKind.ORDERS)
