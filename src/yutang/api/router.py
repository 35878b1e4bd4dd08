"""Composition of ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from yutang.api import channels, customers, ingestion, me, offers, stores

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(me.router)
api_router.include_router(stores.router)
api_router.include_router(customers.router)
api_router.include_router(ingestion.router)
api_router.include_router(channels.router)
api_router.include_router(offers.router)
