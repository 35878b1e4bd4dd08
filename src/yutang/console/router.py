"""All console pages under ``/console``."""

from __future__ import annotations

from fastapi import APIRouter

from yutang.console.pages import (
    analytics,
    audit,
    auth,
    campaigns,
    campaigns_moments,
    channels,
    connectors,
    customers,
    fission,
    group_buy,
    groups,
    imports,
    landing,
    offers,
    overview,
    stores,
)

console_router = APIRouter(prefix="/console", include_in_schema=False)
for page in (auth, overview, customers, channels, imports, stores, audit, offers, analytics):
    console_router.include_router(page.router)
console_router.include_router(group_buy.router)
console_router.include_router(connectors.router)
console_router.include_router(groups.router)
console_router.include_router(fission.router)
console_router.include_router(campaigns.router)
console_router.include_router(campaigns_moments.router)

public_router = APIRouter(include_in_schema=False)
"""Pages for customers, not operators (no login)."""
public_router.include_router(landing.router)
public_router.include_router(fission.public_router)
