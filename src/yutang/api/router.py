"""Composition of ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from yutang.api import (
    analytics,
    bargains,
    campaigns,
    channels,
    customers,
    group_buy,
    groups,
    ingestion,
    me,
    moments,
    offers,
    programme_results,
    referrals,
    stores,
)

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(me.router)
api_router.include_router(stores.router)
api_router.include_router(customers.router)
api_router.include_router(ingestion.router)
api_router.include_router(channels.router)
api_router.include_router(offers.router)
api_router.include_router(analytics.router)
api_router.include_router(group_buy.router)
api_router.include_router(bargains.router)
api_router.include_router(referrals.router)
api_router.include_router(groups.router)
api_router.include_router(campaigns.router)
api_router.include_router(moments.router)
api_router.include_router(programme_results.router)
