"""Ingestion: events and orders in batches (public contract: paths, fields, codes)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from yutang.api.batch_body import batch_body_schema, read_batch
from yutang.api.deps import ApiWriter
from yutang.pool import ingestion, order_ingestion
from yutang.pool.ingest_schemas import BatchResult, EventIn, OrderBatchResult, OrderIn
from yutang.pool.oneid import OneIdPolicy

router = APIRouter(tags=["ingestion"])


class EventsBody(BaseModel):
    """The body's shape, for the OpenAPI document (records are validated one by one)."""

    events: list[EventIn]


def policy_of(request: Request) -> OneIdPolicy:
    policy: OneIdPolicy = request.app.state.oneid_policy
    return policy


@router.post("/events", openapi_extra=batch_body_schema(EventsBody))
async def ingest_events(request: Request, writer: ApiWriter) -> BatchResult:
    """Up to 1,000 events; idempotent by ``event_id``; a bad event never rejects the others."""
    policy = policy_of(request)
    events = await read_batch(request, "events")
    factory = request.app.state.session_factory
    batch = await run_in_threadpool(lambda: ingestion.screen_stored(
        factory, ingestion.prepare_events(events, policy=policy)))
    return await run_in_threadpool(writer, lambda session, principal: ingestion.store_events(
        session, actor=principal, batch=batch, policy=policy
    ))


class OrdersBody(BaseModel):
    """The body's shape, for the OpenAPI document (records are validated one by one)."""

    orders: list[OrderIn]


@router.post("/orders", openapi_extra=batch_body_schema(OrdersBody))
async def ingest_orders(request: Request, writer: ApiWriter) -> OrderBatchResult:
    """Up to 1,000 orders; idempotent by ``(source, external_order_id)``; later calls move an
    order through created → paid → completed, or refunded/closed, keeping each time."""
    policy = policy_of(request)
    orders = await read_batch(request, "orders")
    return await run_in_threadpool(writer, lambda session, principal: (
        order_ingestion.ingest_orders(session, actor=principal, orders=orders, policy=policy)
    ))
