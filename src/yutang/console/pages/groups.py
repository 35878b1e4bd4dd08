"""Groups in the console: the list with health and filters, one group's weekly health, dead
groups with a suggestion (revive with content, merge, dismiss), and group codes with their
routing. Writes go through the same use cases as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from yutang.console.security import ConsoleSession, ConsoleWrite
from yutang.console.templating import render
from yutang.groups import dead_groups
from yutang.groups import service as groups
from yutang.groups.errors import InvalidGroup
from yutang.groups.models import GroupStatus
from yutang.groups.schemas import DEFAULT_NAME_PATTERN, GroupCodeCreate
from yutang.kit.errors import InvalidInput
from yutang.kit.pagination import PageRequest
from yutang.kit.web import DbSession
from yutang.org import service as org_service

router = APIRouter(prefix="/groups")


def _stores(session: DbSession, active: ConsoleSession) -> list[tuple[str, str]]:
    stores = org_service.list_stores(session)
    principal = active.principal
    return [(store.code, store.name) for store in stores
            if not principal.is_store_scoped or store.id == principal.store_id]


@router.get("")
def group_list(request: Request, session: DbSession, active: ConsoleSession,
               store: str = "", status: str = "", owner: str = "", page: int = 1) -> Response:
    chosen = GroupStatus(status) if status in {item.value for item in GroupStatus} else None
    found = groups.list_groups(session, actor=active.principal, store_code=store or None,
                               status=chosen, owner_username=owner or None,
                               page=PageRequest(page=page, size=50), with_health=True)
    return render(request, "groups.html", {
        "groups": found.items, "total": found.total, "stores": _stores(session, active),
        "statuses": [item.value for item in GroupStatus],
        "filters": {"store": store, "status": status, "owner": owner},
    })


@router.get("/dead")
def dead_list(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    found = dead_groups.dead_groups_with_advice(session, actor=active.principal)
    reads = groups.present(session, [group for group, _, _ in found],
                           {group.id: verdict for group, verdict, _ in found})
    siblings = {}
    for group, _, _ in found:
        siblings[group.id] = [
            item for item in groups.groups_of_store(session, group.store_id,
                                                    [GroupStatus.ACTIVE])
            if item.member_count + group.member_count <= item.capacity]
    return render(request, "groups_dead.html", {
        "rows": [(read, advice, siblings[read.id])
                 for read, (_, _, advice) in zip(reads, found, strict=True)],
    })


@router.post("/dead/evaluate")
def evaluate(session: DbSession, active: ConsoleWrite) -> Response:
    groups.evaluate(session, actor=active.principal)
    return RedirectResponse("/console/groups/dead", status_code=303)


@router.post("/{group_id}/dead-action")
def dead_action(session: DbSession, active: ConsoleWrite, group_id: int,
                action: Annotated[str, Form()] = "", content: Annotated[str, Form()] = "",
                target_group_id: Annotated[str, Form()] = "") -> Response:
    principal = active.principal
    if action == "revive":
        dead_groups.revive(session, actor=principal, group_id=group_id, content=content)
    elif action == "merge":
        if not target_group_id.isdigit():
            raise InvalidGroup("choose the group to merge into")
        dead_groups.merge(session, actor=principal, group_id=group_id,
                          target_group_id=int(target_group_id))
    elif action == "dismiss":
        dead_groups.dismiss(session, actor=principal, group_id=group_id)
    else:
        raise InvalidInput("unknown action", action=action)
    return RedirectResponse("/console/groups/dead", status_code=303)


@router.get("/codes")
def code_list(request: Request, session: DbSession, active: ConsoleSession) -> Response:
    return render(request, "groups_codes.html", {
        "codes": groups.list_codes(session, actor=active.principal),
        "stores": _stores(session, active), "default_pattern": DEFAULT_NAME_PATTERN,
    })


@router.post("/codes")
def create_code(
    session: DbSession, active: ConsoleWrite,
    store_code: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    owner_username: Annotated[str, Form()] = "", campaign: Annotated[str, Form()] = "",
    name_pattern: Annotated[str, Form()] = DEFAULT_NAME_PATTERN,
    capacity: Annotated[str, Form()] = "", auto_open: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = GroupCodeCreate(
            store_code=store_code, name=name, owner_username=owner_username or None,
            campaign=campaign or None, name_pattern=name_pattern or DEFAULT_NAME_PATTERN,
            auto_open=bool(auto_open),
            capacity=int(capacity) if capacity.strip().isdigit() else None)
    except ValidationError as error:
        fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
        raise InvalidInput("the form is not valid", fields=fields) from error
    groups.create_code(session, actor=active.principal, data=data)
    return RedirectResponse("/console/groups/codes", status_code=303)


@router.get("/{group_id}")
def group_detail(request: Request, session: DbSession, active: ConsoleSession,
                 group_id: int) -> Response:
    read = groups.group_read(session, actor=active.principal, group_id=group_id)
    weeks = groups.weekly_health(session, actor=active.principal, group_id=group_id)
    return render(request, "groups_detail.html", {"group": read, "weeks": weeks})
