"""Follow-ups (回访) in the console: the staff member's task list, phone-sized (each task with
its customer, masked, and the script; done with an outcome, a note and the next contact
date, or skipped), completion per staff member for managers, and the rules for HQ."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.access.roles import Principal
from yutang.campaigns import content as content_service
from yutang.campaigns import follow_ups
from yutang.campaigns.follow_ups_models import FollowUpKind, TaskOutcome, TaskStatus
from yutang.campaigns.follow_ups_schemas import FollowUpRuleIn, GenerationReport, TaskDone
from yutang.campaigns.models import ContentStatus
from yutang.console.pages.campaigns_support import invalid_form, parse_day, whole
from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.kit.clock import to_local, utcnow
from yutang.kit.web import DbSession

router = APIRouter(prefix="/follow-ups")

Field = Annotated[str, Form()]


@router.get("")
def task_list(request: Request, session: DbSession, active: ConsoleSession,
              status: str = "open") -> Response:
    chosen = TaskStatus(status) if status in {item.value for item in TaskStatus} \
        else TaskStatus.OPEN
    tasks = follow_ups.list_tasks(session, actor=active.principal, status=chosen, limit=100)
    return render(request, "campaigns_follow_ups.html", {
        "tasks": tasks, "status": chosen.value, "statuses": [item.value for item in TaskStatus],
        "outcomes": [item.value for item in TaskOutcome],
        "today": to_local(utcnow()).date().isoformat(),
    })


@router.post("/{task_id:int}/done")
def done(session: DbSession, active: ConsoleWrite, task_id: int, outcome: Field = "",
         note: Field = "", next_contact_on: Field = "") -> Response:
    try:
        data = TaskDone.model_validate({"outcome": outcome, "note": note,
                                        "next_contact_on": next_contact_on or None})
    except ValidationError as error:
        raise invalid_form(error) from error
    follow_ups.complete_task(session, actor=active.principal, task_id=task_id, data=data)
    return RedirectResponse("/console/follow-ups", status_code=303)


@router.post("/{task_id:int}/skip")
def skip(session: DbSession, active: ConsoleWrite, task_id: int, note: Field = "") -> Response:
    follow_ups.skip_task(session, actor=active.principal, task_id=task_id, note=note)
    return RedirectResponse("/console/follow-ups", status_code=303)


@router.get("/team")
def team(request: Request, session: DbSession, active: ConsoleSession, start: str = "",
         end: str = "") -> Response:
    today = to_local(utcnow()).date()
    first = parse_day(start, today - timedelta(days=today.weekday()))
    last = parse_day(end, first + timedelta(days=6))
    rows = follow_ups.completion(session, actor=active.principal, first_day=first,
                                 last_day=last)
    return render(request, "campaigns_follow_ups_team.html", {
        "rows": rows, "first": first.isoformat(), "last": last.isoformat()})


def _rules_page(request: Request, session: DbSession, principal: Principal,
               report: GenerationReport | None) -> Response:
    return render(request, "campaigns_follow_ups_rules.html", {
        "rules": [follow_ups.present_rule(rule)
                  for rule in follow_ups.list_rules(session, actor=principal)],
        "scripts": [content_service.present(item) for item in content_service.list_content(
            session, actor=principal) if item.status == ContentStatus.APPROVED.value],
        "kinds": [item.value for item in FollowUpKind], "report": report,
    })


@router.get("/rules")
def rules(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    return _rules_page(request, session, active.principal, None)


@router.post("/rules")
def create_rule(session: DbSession, active: ConsoleWrite, name: Field = "", kind: Field = "",
                content_id: Field = "", days: Field = "", due_days: Field = "2") -> Response:
    try:
        data = FollowUpRuleIn.model_validate({
            "name": name, "kind": kind, "content_id": whole(content_id, "content_id"),
            "days": whole(days, "days"), "due_days": whole(due_days, "due_days", 2)})
    except ValidationError as error:
        raise invalid_form(error) from error
    follow_ups.create_rule(session, actor=active.principal, data=data)
    return RedirectResponse("/console/follow-ups/rules", status_code=303)


@router.post("/generate")
def generate(request: Request, session: DbSession, active: ConsoleWrite) -> Response:
    report = follow_ups.generate_tasks(session, actor=active.principal)
    return _rules_page(request, session, active.principal, report)
