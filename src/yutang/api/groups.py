"""Groups (社群), group codes (群活码), red-packet probes and dead groups (public contract:
paths, fields, codes).

``POST /group-codes/{id}/scan`` is idempotent by nature: a customer scanning again gets the
group they are in. Writes run in one writer transaction, re-run on a transient conflict.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from yutang.api.deps import ApiPrincipal, ApiWriter
from yutang.groups import dead_groups
from yutang.groups import service as groups
from yutang.groups.errors import InvalidGroup, NotAMember
from yutang.groups.models import GroupStatus
from yutang.groups.schemas import (
    ClaimIn,
    DeadGroupAction,
    DeadGroupRead,
    EvaluationRead,
    GroupCodeCreate,
    GroupCodeRead,
    GroupCreate,
    GroupPage,
    GroupRead,
    GroupRuleIn,
    GroupRuleRead,
    MemberIn,
    MemberLeaveIn,
    MemberRead,
    ProbeCreate,
    ProbeRead,
    ScanIn,
    ScanRead,
    StoreCapacityIn,
    Suggestion,
    SyncRead,
    WeekHealth,
)
from yutang.groups.sync import sweep
from yutang.kit.pagination import PageRequest
from yutang.kit.web import DbSession

router = APIRouter(tags=["groups"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found (`group_not_found`, `group_code_not_found`…)"},
    409: {"description": "a rule of the domain refused it (see the error code)"},
}


def _created(model: Any) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=201)


# --- groups ----------------------------------------------------------------------------------


@router.post("/groups", status_code=201, response_model=GroupRead, responses=_ERRORS)
def create_group(data: GroupCreate, writer: ApiWriter) -> JSONResponse:
    """A group of a store with its staff owner; capacity defaults to the store's (50)."""
    return _created(writer(lambda session, principal: groups.present(
        session, [groups.create_group(session, actor=principal, data=data)])[0]))


@router.get("/groups")
def list_groups(
    principal: ApiPrincipal, session: DbSession,
    store: Annotated[str | None, Query(description="store code")] = None,
    status: GroupStatus | None = None,
    owner: Annotated[str | None, Query(description="owner's username")] = None,
    code_id: int | None = None, page: int = 1, size: int = 50,
    with_health: Annotated[bool, Query(alias="health")] = False,
) -> GroupPage:
    """Groups by store, status (``active``, ``dead``, ``dismissed``, ``merged``) and owner."""
    return groups.list_groups(session, actor=principal, store_code=store, status=status,
                              owner_username=owner, code_id=code_id,
                              page=PageRequest(page=page, size=size), with_health=with_health)


@router.get("/groups/dead")
def list_dead_groups(principal: ApiPrincipal, session: DbSession) -> list[DeadGroupRead]:
    """Groups marked dead, each with a suggestion: revive, merge (into which) or dismiss."""
    found = dead_groups.dead_groups_with_advice(session, actor=principal)
    reads = groups.present(session, [group for group, _, _ in found],
                           {group.id: verdict for group, verdict, _ in found})
    return [DeadGroupRead(group=read, suggestion=Suggestion(
        action=advice.action, target_group_id=advice.target.id if advice.target else None,
        target_group_name=advice.target.name if advice.target else None))
        for read, (_, _, advice) in zip(reads, found, strict=True)]


@router.post("/groups/evaluations", status_code=201, response_model=EvaluationRead)
def evaluate_groups(writer: ApiWriter) -> JSONResponse:
    """Apply the dead-group rule to every open group now (marks and un-marks)."""
    return _created(writer(lambda session, principal: groups.evaluate(session,
                                                                      actor=principal)))


@router.post("/groups/sync", response_model=SyncRead)
def sync_groups(writer: ApiWriter) -> SyncRead:
    """Apply pending pool group events (the sweep; idempotent)."""
    def work(session: Any, principal: Any) -> SyncRead:
        groups.require_rules(principal)
        return sweep(session)

    return writer(work)


@router.get("/groups/{group_id}")
def get_group(group_id: int, principal: ApiPrincipal, session: DbSession) -> GroupRead:
    """The group with its member count, capacity, room and health now."""
    return groups.group_read(session, actor=principal, group_id=group_id)


@router.get("/groups/{group_id}/members")
def group_members(group_id: int, principal: ApiPrincipal, session: DbSession,
                  current: bool = True, page: int = 1, size: int = 100) -> list[MemberRead]:
    return groups.members(session, actor=principal, group_id=group_id, current_only=current,
                          page=PageRequest(page=page, size=size))[0]


@router.post("/groups/{group_id}/members", status_code=201, response_model=GroupRead,
             responses=_ERRORS)
def add_member(group_id: int, data: MemberIn, writer: ApiWriter) -> JSONResponse:
    """Seat a customer: 409 ``group_full``, ``group_closed``; 200 if already a member."""
    def work(session: Any, principal: Any) -> tuple[bool, GroupRead]:
        joined = groups.add_member(session, actor=principal, group_id=group_id, data=data)
        return joined, groups.group_read(session, actor=principal, group_id=group_id)

    joined, read = writer(work)
    return JSONResponse(read.model_dump(mode="json"), status_code=201 if joined else 200)


@router.post("/groups/{group_id}/members/leave", response_model=GroupRead, responses=_ERRORS)
def leave_group(group_id: int, data: MemberLeaveIn, writer: ApiWriter) -> GroupRead:
    """The customer left: 409 ``not_a_group_member`` if they were not in it."""
    def work(session: Any, principal: Any) -> GroupRead:
        if not groups.remove_member(session, actor=principal, group_id=group_id, data=data):
            raise NotAMember("the customer is not a member of this group",
                             group_id=group_id, customer_id=data.customer_id)
        return groups.group_read(session, actor=principal, group_id=group_id)

    return writer(work)


@router.get("/groups/{group_id}/health")
def group_health(group_id: int, principal: ApiPrincipal, session: DbSession,
                 weeks: int = 8) -> list[WeekHealth]:
    """Per ISO week: messages, active share, new and lost members, probes."""
    return groups.weekly_health(session, actor=principal, group_id=group_id, weeks=weeks)


@router.post("/groups/{group_id}/dead-actions", response_model=GroupRead, responses=_ERRORS)
def act_on_dead_group(group_id: int, data: DeadGroupAction, writer: ApiWriter) -> GroupRead:
    """``revive`` (with ``content``), ``merge`` (into ``target_group_id``) or ``dismiss``:
    409 ``group_not_dead``, ``group_merge_target_invalid``."""
    def work(session: Any, principal: Any) -> GroupRead:
        if data.action == "revive":
            group = dead_groups.revive(session, actor=principal, group_id=group_id,
                                       content=data.content or "")
        elif data.action == "merge":
            if data.target_group_id is None:
                raise InvalidGroup("give target_group_id to merge into")
            group = dead_groups.merge(session, actor=principal, group_id=group_id,
                                      target_group_id=data.target_group_id)
        else:
            group = dead_groups.dismiss(session, actor=principal, group_id=group_id)
        return groups.present(session, [group])[0]

    return writer(work)


# --- probes ----------------------------------------------------------------------------------


@router.post("/groups/{group_id}/probes", status_code=201, response_model=ProbeRead,
             responses=_ERRORS)
def send_probe(group_id: int, data: ProbeCreate, writer: ApiWriter) -> JSONResponse:
    """A red-packet probe sent into the group (claims come from ``red_packet_claim`` events
    or ``POST /group-probes/{id}/claims``)."""
    return _created(writer(lambda session, principal: groups.present_probe(
        groups.send_probe(session, actor=principal, group_id=group_id, data=data))))


@router.get("/group-probes/{probe_id}")
def get_probe(probe_id: int, principal: ApiPrincipal, session: DbSession) -> ProbeRead:
    return groups.present_probe(groups.get_probe(session, actor=principal, probe_id=probe_id))


@router.post("/group-probes/{probe_id}/claims", status_code=201, response_model=ProbeRead,
             responses=_ERRORS)
def claim_packet(probe_id: int, data: ClaimIn, writer: ApiWriter) -> JSONResponse:
    """One packet claimed: 201; 200 if this customer claimed already or none is left."""
    def work(session: Any, principal: Any) -> tuple[ProbeRead, bool]:
        probe, done = groups.claim_probe(session, actor=principal, probe_id=probe_id,
                                         data=data)
        return groups.present_probe(probe), done

    read, done = writer(work)
    return JSONResponse(read.model_dump(mode="json"), status_code=201 if done else 200)


# --- group codes -----------------------------------------------------------------------------


@router.post("/group-codes", status_code=201, response_model=GroupCodeRead, responses=_ERRORS)
def create_group_code(data: GroupCodeCreate, writer: ApiWriter) -> JSONResponse:
    """A group code of a store or campaign, routing into ``group_ids`` (and the groups it
    opens when ``auto_open``)."""
    return _created(writer(lambda session, principal: groups.present_codes(
        session, [groups.create_code(session, actor=principal, data=data)])[0]))


@router.get("/group-codes")
def list_group_codes(principal: ApiPrincipal, session: DbSession) -> list[GroupCodeRead]:
    return groups.list_codes(session, actor=principal)


@router.get("/group-codes/{code_id}")
def get_group_code(code_id: int, principal: ApiPrincipal, session: DbSession) -> GroupCodeRead:
    return groups.code_read(session, actor=principal, code_id=code_id)


@router.post("/group-codes/{code_id}/scan", responses=_ERRORS)
def scan_group_code(code_id: int, data: ScanIn, writer: ApiWriter) -> ScanRead:
    """The group the customer should join, their seat taken; the same group again if they
    are in one of the code's groups. 409 ``no_group_available`` only when every group is full
    and the code may not open another."""
    return writer(lambda session, principal: groups.scan(
        session, actor=principal, code_id=code_id, customer_id=data.customer_id))


# --- settings --------------------------------------------------------------------------------


@router.get("/group-rule")
def get_group_rule(principal: ApiPrincipal, session: DbSession) -> GroupRuleRead:
    del principal  # any key may read the rule
    return groups.rule_read(session)


@router.put("/group-rule")
def save_group_rule(data: GroupRuleIn, writer: ApiWriter) -> GroupRuleRead:
    """The dead-group rule (defaults, seed 002: 6 minutes, 10%, four weeks)."""
    return writer(lambda session, principal: groups.save_rule(session, actor=principal,
                                                              data=data))


@router.put("/stores/{store_code}/group-capacity")
def set_group_capacity(store_code: str, data: StoreCapacityIn,
                       writer: ApiWriter) -> dict[str, int]:
    """The capacity of the store's next groups (default 50)."""
    return {"capacity": writer(lambda session, principal: groups.set_store_capacity(
        session, actor=principal, store_code=store_code, capacity=data.capacity))}

