"""Imports as uploads: the same files and rules as ``yutang import``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from starlette.responses import Response

from yutang.access import service as access_service
from yutang.access.roles import Permission
from yutang.connectors.platform_orders import importing as platform_import
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.errors import InvalidInput
from yutang.kit.web import DbSession
from yutang.pool.import_files import read_rows
from yutang.pool.imports import ImportKind, import_rows

router = APIRouter()

MAX_SHOWN_REJECTS = 200


@router.get("/imports")
def import_form(request: Request, active: ConsoleSession) -> Response:
    access_service.require(active.principal, Permission.CUSTOMERS_WRITE)
    return render(request, "imports.html", {"kinds": list(ImportKind), "summary": None,
                                            "platform_kinds": platform_import.PLATFORM_KINDS})


@router.post("/imports")
async def import_upload(
    request: Request,
    session: DbSession,
    active: ConsoleWrite,
    kind: Annotated[str, Form()] = "",
    preview: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    access_service.require(active.principal, Permission.CUSTOMERS_WRITE)
    known = {item.value for item in ImportKind} | set(platform_import.PLATFORM_KINDS)
    if kind not in known or file is None or not file.filename:
        raise InvalidInput("choose what to import and a file", kind=kind)
    suffix = Path(file.filename).suffix.lower()
    session.commit()  # the import writes in its own transactions: release this one first
    if platform_import.is_platform_kind(kind):
        return render(request, "imports.html", {
            "kinds": list(ImportKind), "platform_kinds": platform_import.PLATFORM_KINDS,
            "summary": None, "filename": file.filename,
            **platform_import.console_context(
                request.app.state.writer_session_factory, actor=active.principal,
                raw=await file.read(), name=file.filename, kind=kind,
                policy=request.app.state.oneid_policy, preview_only=bool(preview),
                shown_rejects=MAX_SHOWN_REJECTS)})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(await file.read())
        rows = read_rows(path)
        summary = import_rows(
            request.app.state.writer_session_factory, actor=active.principal,
            kind=ImportKind(kind), rows=rows, policy=request.app.state.oneid_policy,
        )
    return render(request, "imports.html", {
        "kinds": list(ImportKind), "summary": summary, "filename": file.filename,
        "platform_kinds": platform_import.PLATFORM_KINDS,
        "rejects": sorted(summary.rejected)[:MAX_SHOWN_REJECTS],
    })
