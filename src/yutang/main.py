"""``create_app()``: one FastAPI app serving ``/api/v1`` and the operator console."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from yutang import __version__
from yutang.api.connector_webhooks import router as connector_webhooks_router
from yutang.api.official_account_callback import router as official_account_callback_router
from yutang.api.redemption_batches import redemption_batcher
from yutang.api.router import api_router
from yutang.api.wecom_callback import router as wecom_callback_router
from yutang.config import Settings, get_settings
from yutang.console.errors import render_domain_error
from yutang.console.headers import install_security_headers
from yutang.console.router import console_router, public_router
from yutang.console.static import mount_static
from yutang.kit.db import make_session_factory, writer_engine
from yutang.kit.errors import DomainError
from yutang.pool.oneid import OneIdPolicy, parse_kind
from yutang.reactions import install_all as install_reactions
from yutang.runtime import configure_data_protection, engine_for, freeze_start_up_heap


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def oneid_policy(settings: Settings) -> OneIdPolicy:
    return OneIdPolicy(
        weak_kinds=frozenset(parse_kind(kind) for kind in settings.oneid_weak_kinds),
        max_customers_per_value=settings.oneid_max_customers_per_value,
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await asyncio.to_thread(app.state.redemption_batcher.close)  # what was submitted is done


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_data_protection(settings)
    install_reactions()
    engine = engine or engine_for(settings)
    app = FastAPI(
        title="yutang",
        version=__version__,
        description="Private-domain traffic pool: API for integrators.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.writer_session_factory = make_session_factory(writer_engine(engine))
    app.state.redemption_batcher = redemption_batcher(lambda: app.state.writer_session_factory)
    app.state.oneid_policy = oneid_policy(settings)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
            return JSONResponse(error.as_payload(), status_code=error.status, headers=headers)
        return render_domain_error(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_payload(request: Request, error: RequestValidationError) -> Response:
        details = [
            {"location": list(item.get("loc", ())), "message": item.get("msg", "")}
            for item in error.errors()
        ]
        payload = {
            "error": {
                "code": "invalid_payload",
                "message": "the request is malformed",
                "details": {"errors": details},
            }
        }
        return JSONResponse(payload, status_code=422)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api_router)
    app.include_router(console_router)
    app.include_router(public_router)
    app.include_router(wecom_callback_router)
    app.include_router(official_account_callback_router)
    app.include_router(connector_webhooks_router)
    mount_static(app, settings)
    install_security_headers(app)
    return app


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """``create_app`` for a long-running server process, its start-up heap frozen
    (``runtime.freeze_start_up_heap``)."""
    app = create_app(settings)
    freeze_start_up_heap()
    return app
