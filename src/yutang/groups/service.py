"""Use cases of groups, as the API, the console, jobs and other domains call them.

Permissions (no role of its own yet): reading groups needs ``customers.read``; joining,
leaving, scanning and probes ``customers.write``; creating groups and group codes and acting
on dead groups ``channel_codes.manage`` (HQ, or a store manager for their store); the
dead-group rule and store capacities ``stores.manage`` (HQ). A store role sees only its
store's groups; another store's group is reported exactly like a missing one (404).
Services flush, never commit; every change writes an audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.models import User
from yutang.access.roles import Permission, PersonalDataView, Principal
from yutang.groups import health, repository, routing
from yutang.groups.dead_groups import mark_dead_groups
from yutang.groups.errors import (
    GroupCodeNotFound,
    GroupNotFound,
    InvalidGroup,
    OwnerNotFound,
    ProbeNotFound,
    WeComChatTaken,
)
from yutang.groups.membership import is_member, join, leave, seat
from yutang.groups.models import (
    OPEN_STATUSES,
    Group,
    GroupCode,
    GroupProbe,
    GroupRule,
    GroupStatus,
    MembershipSource,
)
from yutang.groups.schemas import (
    ClaimIn,
    EvaluationRead,
    GroupCodeCreate,
    GroupCodeRead,
    GroupCreate,
    GroupPage,
    GroupRead,
    GroupRuleIn,
    GroupRuleRead,
    HealthRead,
    MemberIn,
    MemberLeaveIn,
    MemberRead,
    ProbeCreate,
    ProbeRead,
    ScanRead,
    WeekHealth,
)
from yutang.groups.sync import claim as claim_packet
from yutang.kit.clock import utcnow
from yutang.kit.pagination import PageRequest
from yutang.org import service as org_service
from yutang.pool import service as pool_service

READ, OPERATE = Permission.CUSTOMERS_READ, Permission.CUSTOMERS_WRITE
MANAGE, RULES = Permission.CHANNEL_CODES_MANAGE, Permission.STORES_MANAGE

__all__ = ["groups_of_store", "member_counts", "store_group_summary"]


# --- reading ---------------------------------------------------------------------------------


def get_group(session: Session, *, actor: Principal, group_id: int) -> Group:
    access_service.require(actor, READ)
    group = repository.group_for(session, actor, group_id)
    if group is None:
        raise GroupNotFound(f"no group {group_id}", group_id=group_id)
    return group


def present(session: Session, groups: Sequence[Group],
            verdicts: dict[int, HealthRead] | None = None) -> list[GroupRead]:
    stores = repository.store_codes(session, {group.store_id for group in groups})
    owners = repository.usernames(session, {group.owner_user_id for group in groups})
    return [GroupRead(
        id=group.id, store_id=group.store_id, store_code=stores.get(group.store_id, ""),
        owner_user_id=group.owner_user_id, owner_username=owners.get(group.owner_user_id, ""),
        name=group.name, capacity=group.capacity, members_count=group.member_count,
        room=max(0, group.capacity - group.member_count), status=GroupStatus(group.status),
        code_id=group.code_id, wecom_chat_id=group.wecom_chat_id, created_at=group.created_at,
        dead_since=group.dead_since, dead_reason=group.dead_reason,
        merged_into_id=group.merged_into_id,
        health=(verdicts or {}).get(group.id)) for group in groups]


def group_read(session: Session, *, actor: Principal, group_id: int,
               as_of: datetime | None = None) -> GroupRead:
    """The group with its member count, capacity and health as of now."""
    group = get_group(session, actor=actor, group_id=group_id)
    session.refresh(group)
    verdicts = health.judge(session, [group], rule=health.current_rule(session),
                            as_of=as_of or utcnow())
    return present(session, [group], verdicts)[0]


def list_groups(session: Session, *, actor: Principal, store_code: str | None = None,
                status: GroupStatus | None = None, owner_username: str | None = None,
                code_id: int | None = None, page: PageRequest | None = None,
                with_health: bool = False) -> GroupPage:
    access_service.require(actor, READ)
    request = page or PageRequest()
    store_id = (org_service.get_store_by_code(session, code=store_code).id
                if store_code else None)
    owner_id = None
    if owner_username:
        owner = repository.user_by_username(session, owner_username)
        owner_id = owner.id if owner else -1
    rows, total = repository.list_groups(
        session, actor, store_id=store_id, status=status.value if status else None,
        owner_user_id=owner_id, code_id=code_id, page=request)
    verdicts = (health.judge(session, rows, rule=health.current_rule(session), as_of=utcnow())
                if with_health else None)
    return GroupPage(items=present(session, rows, verdicts), total=total, page=request.page,
                     size=request.size)


def members(session: Session, *, actor: Principal, group_id: int, current_only: bool = True,
            page: PageRequest | None = None) -> tuple[list[MemberRead], int]:
    get_group(session, actor=actor, group_id=group_id)
    rows, total = repository.members_of(session, group_id, current_only=current_only,
                                        page=page or PageRequest(size=100))
    pseudonymous = actor.personal_data_view is PersonalDataView.PSEUDONYMOUS
    return [MemberRead(
        customer_id=None if pseudonymous else row.customer_id,
        customer_ref=pool_service.pseudonym_of(row.customer_id) if pseudonymous
        else str(row.customer_id),
        status=row.status, first_joined_at=row.first_joined_at, joined_at=row.joined_at,
        left_at=row.left_at, source=row.source) for row in rows], total


def weekly_health(session: Session, *, actor: Principal, group_id: int, weeks: int = 8,
                  as_of: datetime | None = None) -> list[WeekHealth]:
    group = get_group(session, actor=actor, group_id=group_id)
    return health.weekly(session, group, weeks=max(1, min(weeks, 52)), as_of=as_of or utcnow(),
                         rule=health.current_rule(session))


# --- for other domains (no actor: they scope themselves) -------------------------------------


def member_counts(session: Session, group_ids: Collection[int]) -> dict[int, int]:
    """Current members of each group."""
    return repository.member_counts(session, group_ids)


def groups_of_store(session: Session, store_id: int,
                    statuses: Collection[GroupStatus] | None = None) -> Sequence[Group]:
    return repository.groups_of_store(
        session, store_id, None if statuses is None else [status.value for status in statuses])


def store_group_summary(session: Session, *, start: datetime, end: datetime
                        ) -> dict[int, dict[str, int]]:
    """Per store: ``groups_created`` in [start, end), ``active_groups`` (alive now),
    ``dead_groups``, and ``new_members_in_active_groups`` (distinct customers who joined an
    active group in [start, end)) — the store KPIs of seed 002."""
    created = repository.groups_created(session, start, end)
    active = repository.groups_with_statuses(session, [GroupStatus.ACTIVE.value])
    joins = repository.joins_through_groups(session, [group.id for group in active], start, end)
    counts = repository.open_groups_count(session)
    summary: dict[int, dict[str, int]] = {}
    for store_id in set(created) | set(counts):
        summary[store_id] = {"groups_created": created.get(store_id, 0),
                             "active_groups": counts.get(store_id, {}).get("active", 0),
                             "dead_groups": counts.get(store_id, {}).get("dead", 0),
                             "new_members_in_active_groups": 0}
    for group in active:
        summary[group.store_id]["new_members_in_active_groups"] += joins.get(group.id, 0)
    return summary


# --- groups and members ----------------------------------------------------------------------


def _owner(session: Session, actor: Principal, username: str | None, store_id: int) -> User:
    if username:
        user = repository.user_by_username(session, username)
    else:
        user = repository.user_by_id(session, actor.id) if actor.kind.value == "user" \
            and actor.id is not None else None
    if user is None or not user.is_active or user.store_id not in (None, store_id):
        raise OwnerNotFound("the owner must be an active staff user of the store",
                            username=username or "")
    return user


def _store_for(session: Session, actor: Principal, store_code: str) -> int:
    store = org_service.get_store_by_code(session, code=store_code)
    if actor.is_store_scoped and store.id != actor.store_id:
        from yutang.org.errors import StoreNotFound

        raise StoreNotFound(f"no store with code {store_code!r}", code=store_code)
    return store.id


def create_group(session: Session, *, actor: Principal, data: GroupCreate) -> Group:
    access_service.require(actor, MANAGE)
    store_id = _store_for(session, actor, data.store_code)
    owner = _owner(session, actor, data.owner_username, store_id)
    if data.wecom_chat_id and repository.group_by_chat(session, data.wecom_chat_id):
        raise WeComChatTaken("that WeCom chat is linked to another group",
                             wecom_chat_id=data.wecom_chat_id)
    if data.code_id is not None:
        code = get_code(session, actor=actor, code_id=data.code_id)
        if code.store_id != store_id:
            raise InvalidGroup("the group code belongs to another store", code_id=code.id)
    capacity = data.capacity or org_service.get_store(session, store_id=store_id).group_capacity
    group = Group(store_id=store_id, owner_user_id=owner.id, name=data.name, capacity=capacity,
                  member_count=0, status=GroupStatus.ACTIVE.value, code_id=data.code_id,
                  wecom_chat_id=data.wecom_chat_id, created_at=utcnow(), created_by=actor.name)
    session.add(group)
    session.flush()
    access_service.record_audit(session, actor=actor, action="group.create",
                                entity_type="group", entity_id=group.id, store_id=store_id,
                                details={"name": group.name, "capacity": capacity})
    return group


def add_member(session: Session, *, actor: Principal, group_id: int, data: MemberIn,
               source: MembershipSource = MembershipSource.API) -> bool:
    """Seat a customer (409 ``group_full``/``group_closed``); False if already a member."""
    access_service.require(actor, OPERATE)
    group = get_group(session, actor=actor, group_id=group_id)
    customer = pool_service.get_customer(session, principal=actor, customer_id=data.customer_id)
    if is_member(session, group, customer.id):
        return False
    seat(session, group)
    return join(session, group=group, customer_id=customer.id, at=data.joined_at or utcnow(),
                source=source, seated=True, actor_name=actor.name)


def remove_member(session: Session, *, actor: Principal, group_id: int, data: MemberLeaveIn,
                  source: MembershipSource = MembershipSource.API) -> bool:
    access_service.require(actor, OPERATE)
    group = get_group(session, actor=actor, group_id=group_id)
    customer = pool_service.get_customer(session, principal=actor, customer_id=data.customer_id)
    return leave(session, group=group, customer_id=customer.id, at=data.left_at or utcnow(),
                 source=source, actor_name=actor.name)


# --- group codes -----------------------------------------------------------------------------


def get_code(session: Session, *, actor: Principal, code_id: int) -> GroupCode:
    access_service.require(actor, READ)
    code = repository.code_for(session, actor, code_id)
    if code is None:
        raise GroupCodeNotFound(f"no group code {code_id}", code_id=code_id)
    return code


def create_code(session: Session, *, actor: Principal, data: GroupCodeCreate) -> GroupCode:
    access_service.require(actor, MANAGE)
    store_id = _store_for(session, actor, data.store_code)
    groups = repository.groups_by_ids(session, set(data.group_ids))
    if len(groups) != len(set(data.group_ids)) or any(
            group.store_id != store_id or group.status not in OPEN_STATUSES
            for group in groups):
        raise InvalidGroup("every group must be an open group of the code's store",
                           group_ids=data.group_ids)
    if data.owner_username is None and groups:
        owner_id = groups[0].owner_user_id
    else:
        owner_id = _owner(session, actor, data.owner_username, store_id).id
    code = GroupCode(store_id=store_id, owner_user_id=owner_id, name=data.name,
                     campaign=data.campaign, name_pattern=data.name_pattern,
                     auto_open=data.auto_open, capacity=data.capacity, is_active=True,
                     opened_groups=0, created_at=utcnow(), created_by=actor.name)
    session.add(code)
    session.flush()
    for group in groups:
        group.code_id = code.id
    access_service.record_audit(session, actor=actor, action="group_code.create",
                                entity_type="group_code", entity_id=code.id, store_id=store_id,
                                details={"name": code.name, "groups": sorted(data.group_ids),
                                         "auto_open": code.auto_open})
    session.flush()
    return code


def code_read(session: Session, *, actor: Principal, code_id: int) -> GroupCodeRead:
    return present_codes(session, [get_code(session, actor=actor, code_id=code_id)])[0]


def list_codes(session: Session, *, actor: Principal) -> list[GroupCodeRead]:
    access_service.require(actor, READ)
    return present_codes(session, repository.codes_for(session, actor))


def present_codes(session: Session, codes: Sequence[GroupCode]) -> list[GroupCodeRead]:
    stores = repository.store_codes(session, {code.store_id for code in codes})
    scans = repository.scan_counts(session, [code.id for code in codes])
    return [GroupCodeRead(
        id=code.id, store_id=code.store_id, store_code=stores.get(code.store_id, ""),
        owner_user_id=code.owner_user_id, name=code.name, campaign=code.campaign,
        name_pattern=code.name_pattern, auto_open=code.auto_open,
        capacity=routing.capacity_of(session, code), is_active=code.is_active,
        opened_groups=code.opened_groups, scans=scans.get(code.id, 0),
        groups=present(session, repository.groups_of_code(session, code.id)))
        for code in codes]


def scan(session: Session, *, actor: Principal, code_id: int, customer_id: int) -> ScanRead:
    """The public contract: the group the customer should join, their seat taken (409
    ``no_group_available`` only when none can be opened)."""
    access_service.require(actor, OPERATE)
    code = get_code(session, actor=actor, code_id=code_id)
    customer = pool_service.get_customer(session, principal=actor, customer_id=customer_id)
    routed = routing.route_scan(session, code=code, customer_id=customer.id, at=utcnow(),
                                actor_name=actor.name)
    group = repository.group_by_id(session, routed.group_id)
    assert group is not None
    session.refresh(group)
    return ScanRead(code_id=code.id, customer_id=customer.id,
                    already_member=routed.already_member,
                    opened_new_group=routed.opened_new_group,
                    group=present(session, [group])[0])


# --- probes ----------------------------------------------------------------------------------


def present_probe(probe: GroupProbe) -> ProbeRead:
    seconds = (int((probe.last_claim_at - probe.sent_at).total_seconds())
               if probe.last_claim_at is not None else None)
    return ProbeRead(id=probe.id, group_id=probe.group_id, sent_at=probe.sent_at,
                     packets=probe.packets, amount_fen=probe.amount_fen, claimed=probe.claimed,
                     last_claim_at=probe.last_claim_at, seconds_to_last_claim=seconds,
                     fully_claimed=probe.claimed >= probe.packets)


def send_probe(session: Session, *, actor: Principal, group_id: int,
               data: ProbeCreate) -> GroupProbe:
    access_service.require(actor, OPERATE)
    group = get_group(session, actor=actor, group_id=group_id)
    probe = GroupProbe(group_id=group.id, sent_at=data.sent_at or utcnow(),
                       packets=data.packets, amount_fen=data.amount_fen, claimed=0,
                       created_by=actor.name)
    session.add(probe)
    session.flush()
    access_service.record_audit(session, actor=actor, action="group.probe",
                                entity_type="group", entity_id=group.id, store_id=group.store_id,
                                details={"probe_id": probe.id, "packets": probe.packets})
    return probe


def get_probe(session: Session, *, actor: Principal, probe_id: int) -> GroupProbe:
    probe = repository.probe_by_id(session, probe_id)
    if probe is None or repository.group_for(session, actor, probe.group_id) is None:
        raise ProbeNotFound(f"no probe {probe_id}", probe_id=probe_id)
    access_service.require(actor, READ)
    return probe


def claim_probe(session: Session, *, actor: Principal, probe_id: int, data: ClaimIn
                ) -> tuple[GroupProbe, bool]:
    """One packet claimed (False: this customer claimed one already, or none is left)."""
    access_service.require(actor, OPERATE)
    probe = get_probe(session, actor=actor, probe_id=probe_id)
    customer_id = None
    if data.customer_id is not None:
        customer_id = pool_service.get_customer(session, principal=actor,
                                                customer_id=data.customer_id).id
    done = claim_packet(session, probe=probe, customer_id=customer_id,
                        at=data.claimed_at or utcnow())
    session.refresh(probe)
    return probe, done


def require_rules(actor: Principal) -> None:
    """HQ work: the rule, capacities, the sweep."""
    access_service.require(actor, RULES)


# --- the rule --------------------------------------------------------------------------------


def rule_read(session: Session) -> GroupRuleRead:
    row = repository.rule(session)
    rule = health.DeadGroupRule.of(row)
    return GroupRuleRead(probe_claim_minutes=rule.probe_claim_minutes,
                         min_active_share_percent=rule.min_active_share_percent,
                         window_weeks=rule.window_weeks, saved=row is not None)


def save_rule(session: Session, *, actor: Principal, data: GroupRuleIn) -> GroupRuleRead:
    access_service.require(actor, RULES)
    row = repository.rule(session)
    if row is None:
        row = GroupRule(**data.model_dump())
        session.add(row)
    else:
        for field, value in data.model_dump().items():
            setattr(row, field, value)
    row.updated_at, row.updated_by = utcnow(), actor.name
    session.flush()
    access_service.record_audit(session, actor=actor, action="group_rule.save",
                                entity_type="group_rule", entity_id=row.id,
                                details=data.model_dump())
    return rule_read(session)


def set_store_capacity(session: Session, *, actor: Principal, store_code: str,
                       capacity: int) -> int:
    """The capacity of the store's next groups (groups already open keep theirs)."""
    access_service.require(actor, RULES)
    store = org_service.get_store_by_code(session, code=store_code)
    before = store.group_capacity
    store.group_capacity = capacity
    session.flush()
    access_service.record_audit(session, actor=actor, action="store.group_capacity",
                                entity_type="store", entity_id=store.id, store_id=store.id,
                                details={"before": before, "after": capacity})
    return capacity


def evaluate(session: Session, *, actor: Principal, as_of: datetime | None = None
             ) -> EvaluationRead:
    access_service.require(actor, MANAGE)
    return mark_dead_groups(session, actor=actor, as_of=as_of or utcnow())


def dead_ids(verdicts: dict[int, HealthRead]) -> list[int]:
    return sorted(group_id for group_id, verdict in verdicts.items()
                  if verdict.status == health.DEAD)
