"""Web plumbing shared by the API and the console (domain-free)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, TypeVar

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from yutang.kit.db import run_in_transaction, unit_of_work

T = TypeVar("T")


def _session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def db_session(request: Request) -> Iterator[Session]:
    """One request is one transaction, committed before the response is sent."""
    with unit_of_work(_session_factory(request)) as session:
        yield session


class WriterRunner:
    """Runs a piece of work in its own writer transaction (``BEGIN IMMEDIATE`` on SQLite),
    re-running it when a concurrent transaction forced a rollback (deadlock, busy)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def __call__(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.factory, work)


def writer_runner(request: Request) -> WriterRunner:
    return WriterRunner(request.app.state.writer_session_factory)


DbSession = Annotated[Session, Depends(db_session, scope="function")]
Writer = Annotated[WriterRunner, Depends(writer_runner)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def csv_download(rows: Iterable[Sequence[str]], filename: str) -> Response:
    """A CSV attachment in UTF-8 with a byte-order mark, so Excel shows Chinese correctly."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return Response(
        content="\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
