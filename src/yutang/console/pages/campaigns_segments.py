"""The segment builder: saved segments with their counts, and a form that builds the JSON
rule tree (conditions on the supported fields in all/any groups) with a live count and a
masked preview of the first customers, both from the segments service."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.campaigns import segments as segment_service
from yutang.campaigns.schemas import SegmentIn
from yutang.console.errors import error_message
from yutang.console.pages.campaigns_support import builder_data, invalid_form
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.errors import DomainError, InvalidInput
from yutang.kit.web import DbSession

router = APIRouter(prefix="/campaigns/segments")

STARTING_RULE: dict[str, Any] = {"all": [{"field": "consent", "op": "granted",
                                          "value": "wecom"}]}
"""A new segment starts from the customers who agreed to WeCom messages."""


def _rule_of(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise InvalidInput("the rule is not JSON", fields=["rule"]) from error


def _page(request: Request, session: DbSession, active: ConsoleSession,
          segment_id: int | None) -> Response:
    principal = active.principal
    segments = [segment_service.present(item)
                for item in segment_service.list_segments(session, actor=principal)]
    chosen = None
    if segment_id is not None:
        chosen = segment_service.present(segment_service.get_segment(session,
                                                                     segment_id=segment_id))
    rule = chosen.rule if chosen else STARTING_RULE
    return render(request, "campaigns_segments.html", {
        "segments": segments, "segment": chosen,
        "rule_json": json.dumps(rule, ensure_ascii=False, indent=1),
        "builder": builder_data(request, session, principal, rule),
    })


@router.get("")
def segment_list(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    return _page(request, session, active, None)


@router.get("/{segment_id:int}")
def segment_edit(request: Request, session: DbSession, active: ConsoleSession,
                 segment_id: int) -> Response:
    return _page(request, session, active, segment_id)


def _data(name: str, description: str, rule: str) -> SegmentIn:
    try:
        return SegmentIn(name=name, description=description, rule=_rule_of(rule))
    except ValidationError as error:
        raise invalid_form(error) from error


@router.post("")
def create_segment(session: DbSession, active: ConsoleWrite,
                   name: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
                   rule: Annotated[str, Form()] = "") -> Response:
    segment = segment_service.create_segment(session, actor=active.principal,
                                             data=_data(name, description, rule))
    segment_service.refresh_count(session, actor=active.principal, segment_id=segment.id)
    return RedirectResponse(f"/console/campaigns/segments/{segment.id}", status_code=303)


@router.post("/{segment_id:int}")
def update_segment(session: DbSession, active: ConsoleWrite, segment_id: int,
                   name: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
                   rule: Annotated[str, Form()] = "") -> Response:
    segment_service.update_segment(session, actor=active.principal, segment_id=segment_id,
                                   data=_data(name, description, rule))
    segment_service.refresh_count(session, actor=active.principal, segment_id=segment_id)
    return RedirectResponse(f"/console/campaigns/segments/{segment_id}", status_code=303)


@router.post("/{segment_id:int}/count")
def count_segment(session: DbSession, active: ConsoleWrite, segment_id: int) -> Response:
    segment_service.refresh_count(session, actor=active.principal, segment_id=segment_id)
    return RedirectResponse("/console/campaigns/segments", status_code=303)


@router.post("/preview")
def preview(request: Request, session: DbSession, active: ConsoleWrite,
            rule: Annotated[str, Form()] = "") -> Response:
    """The live count and masked preview of the rule being built (an HTML fragment); a bad
    rule answers with its message and the path of the bad node, not an error page."""
    try:
        found = segment_service.preview_rule(session, actor=active.principal,
                                             rule=_rule_of(rule), limit=10)
    except DomainError as error:
        return render(request, "campaigns_segment_preview.html", {
            "preview": None, "message": error_message(request, error),
            "path": error.details.get("path"), "detail": error.message,
        })
    return render(request, "campaigns_segment_preview.html", {"preview": found})
