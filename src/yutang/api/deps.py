from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.errors import InvalidApiKey
from yutang.access.roles import Principal
from yutang.kit.web import DbSession, WriterRunner, writer_runner

T = TypeVar("T")


def bearer_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise InvalidApiKey("send the API key as 'Authorization: Bearer <key>'")
    return credentials


def api_principal(request: Request, session: DbSession) -> Principal:
    """The principal behind ``Authorization: Bearer <key>``."""
    return access_service.authenticate_api_key(session, key=bearer_key(request))


class ApiWriterRunner:
    """Runs work as the caller, authenticated inside the work's own writer transaction (one
    connection per request: SQLite allows one writer)."""

    def __init__(self, writer: WriterRunner, key: str) -> None:
        self.writer = writer
        self.key = key

    def __call__(self, work: Callable[[Session, Principal], T]) -> T:
        def authenticated(session: Session) -> T:
            return work(session, access_service.authenticate_api_key(session, key=self.key))

        return self.writer(authenticated)


async def api_writer(request: Request) -> ApiWriterRunner:
    """Async: it does no I/O, and FastAPI would run a plain function (and each of its plain
    sub-dependencies) in the thread pool, one hop each, before the endpoint's own."""
    return ApiWriterRunner(writer_runner(request), bearer_key(request))


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
ApiWriter = Annotated[ApiWriterRunner, Depends(api_writer)]

