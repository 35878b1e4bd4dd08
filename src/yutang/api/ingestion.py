"""Ingestion: events and orders in batches (public contract: paths, fields, codes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from yutang.api.deps import ApiWriter
from yutang.pool import ingestion, order_ingestion
from yutang.pool.ingest_schemas import BatchResult, OrderBatchResult
from yutang.pool.oneid import OneIdPolicy

router = APIRouter(tags=["ingestion"])


class EventsBody(BaseModel):
    events: list[Any]


def policy_of(request: Request) -> OneIdPolicy:
    policy: OneIdPolicy = request.app.state.oneid_policy
    return policy


@router.post("/events")
def ingest_events(
    body: EventsBody, request: Request, writer: ApiWriter
) -> BatchResult:
    """Up to 1,000 events; idempotent by ``event_id``; a bad event never rejects the others."""
    policy = policy_of(request)
    batch = ingestion.prepare_events(body.events, policy=policy)
    return writer(lambda session, principal: ingestion.store_events(
        session, actor=principal, batch=batch, policy=policy
    ))



class OrdersBody(BaseModel):
    orders: list[Any]


@router.post("/orders")
def ingest_orders(
    body: OrdersBody, request: Request, writer: ApiWriter
) -> OrderBatchResult:
    """Up to 1,000 orders; idempotent by ``(source, external_order_id)``; later calls move an
    order through created → paid → completed, or refunded/closed, keeping each time."""
    policy = policy_of(request)
    return writer(lambda session, principal: order_ingestion.ingest_orders(
        session, actor=principal, orders=body.orders, policy=policy
    ))
