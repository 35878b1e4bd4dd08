"""Operator load in the console: a week's staff work — mass-send tasks to confirm, customers
and groups reached, follow-ups done, estimated minutes per staff member and in total — and
per campaign the confirmations per 1,000 recipients, flagging content whose per-customer
variables force one task per recipient. The figures are ``campaigns.operator_load``'s."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from yutang.campaigns import operator_load
from yutang.campaigns.operator_load_schemas import ActionSeconds
from yutang.console.pages.campaigns_support import whole
from yutang.console.security import ConsoleSession
from yutang.console.templating import render
from yutang.kit.errors import InvalidInput
from yutang.kit.web import DbSession

router = APIRouter(prefix="/campaigns/operator-load")


def _seconds(confirm_task: str, follow_up: str, moment_post: str) -> ActionSeconds:
    defaults = ActionSeconds()
    chosen = {"confirm_task": whole(confirm_task, "confirm_task", defaults.confirm_task),
              "follow_up": whole(follow_up, "follow_up", defaults.follow_up),
              "moment_post": whole(moment_post, "moment_post", defaults.moment_post)}
    for name, value in chosen.items():
        if value is None or not 0 <= value <= 7_200:
            raise InvalidInput(f"{name}: 0 to 7,200 seconds", fields=[name])
    return ActionSeconds.model_validate(chosen)


@router.get("")
def operator_load_page(request: Request, session: DbSession, active: ConsoleSession,
                       week: str = "", confirm_task: str = "", follow_up: str = "",
                       moment_post: str = "") -> Response:
    seconds = _seconds(confirm_task, follow_up, moment_post)
    report = operator_load.operator_load(session, actor=active.principal, week=week or None,
                                         seconds=seconds)
    monday = operator_load.week_monday(report.week)
    return render(request, "campaigns_operator_load.html", {
        "report": report,
        "previous": operator_load.week_name(monday - timedelta(days=7)),
        "next": operator_load.week_name(monday + timedelta(days=7)),
        "first_day": monday.isoformat(),
        "last_day": (monday + timedelta(days=6)).isoformat(),
    })
