"""All console pages under ``/console``."""

from __future__ import annotations

from fastapi import APIRouter

from yutang.console.pages import (
    audit,
    auth,
    channels,
    customers,
    imports,
    landing,
    offers,
    overview,
    stores,
)

console_router = APIRouter(prefix="/console", include_in_schema=False)
for page in (auth, overview, customers, channels, imports, stores, audit, offers):
    console_router.include_router(page.router)

public_router = APIRouter(include_in_schema=False)
"""Pages for customers, not operators (no login)."""
public_router.include_router(landing.router)
