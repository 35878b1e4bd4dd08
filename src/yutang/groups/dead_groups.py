"""Dead groups: marking them by the rule, listing them with a suggestion, and acting on one
(revive with content, merge into another group, dismiss)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.groups import health, repository
from yutang.groups.errors import GroupNotDead, GroupNotFound, MergeTargetInvalid
from yutang.groups.membership import is_member, join, leave
from yutang.groups.models import OPEN_STATUSES, Group, GroupStatus, MembershipSource
from yutang.groups.schemas import EvaluationRead, HealthRead
from yutang.kit.clock import utcnow

SYSTEM = Principal.system("groups.health")


def mark_dead_groups(session: Session, *, actor: Principal, as_of: datetime) -> EvaluationRead:
    """Judge every open group as of ``as_of``: the dead ones are marked (no more routing),
    dead ones alive again are marked active; each change is audited."""
    groups = list(repository.groups_with_statuses(session, OPEN_STATUSES))
    verdicts = health.judge(session, groups, rule=health.current_rule(session), as_of=as_of)
    newly_dead = back_alive = 0
    for group in groups:
        verdict = verdicts[group.id]
        group.health_checked_at = as_of
        if verdict.status == health.DEAD and group.status == GroupStatus.ACTIVE.value:
            group.status, group.dead_since, group.dead_reason = (
                GroupStatus.DEAD.value, as_of, verdict.reason)
            newly_dead += 1
            _audit(session, actor, group, "group.marked_dead", {"reason": verdict.reason,
                                                                "active_share":
                                                                    verdict.active_share})
        elif verdict.status == health.ALIVE and group.status == GroupStatus.DEAD.value:
            group.status, group.dead_since, group.dead_reason = (
                GroupStatus.ACTIVE.value, None, None)
            back_alive += 1
            _audit(session, actor, group, "group.alive_again",
                   {"active_share": verdict.active_share})
    session.flush()
    dead = sorted(group.id for group in groups if group.status == GroupStatus.DEAD.value)
    return EvaluationRead(as_of=as_of,
                          judged=sum(1 for verdict in verdicts.values()
                                     if verdict.status != health.UNJUDGED),
                          dead=len(dead), newly_dead=newly_dead, back_alive=back_alive,
                          dead_group_ids=dead)


def _audit(session: Session, actor: Principal, group: Group, action: str,
           details: dict[str, object]) -> None:
    access_service.record_audit(session, actor=actor, action=action, entity_type="group",
                                entity_id=group.id, store_id=group.store_id, details=details)


def dead_groups_with_advice(session: Session, *, actor: Principal, store_id: int | None = None
                            ) -> list[tuple[Group, HealthRead, health.Advice]]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    statement = repository.scoped_groups(actor).where(Group.status.in_(OPEN_STATUSES))
    if store_id is not None:
        statement = statement.where(Group.store_id == store_id)
    groups = list(session.scalars(statement.order_by(Group.store_id, Group.id)))
    verdicts = health.judge(session, groups, rule=health.current_rule(session), as_of=utcnow())
    dead = [group for group in groups if group.status == GroupStatus.DEAD.value]
    return [(group, verdicts[group.id], health.advise(group, verdicts[group.id], groups,
                                                      verdicts)) for group in dead]


def _dead_group(session: Session, actor: Principal, group_id: int) -> Group:
    access_service.require(actor, Permission.CHANNEL_CODES_MANAGE)
    group = repository.group_for(session, actor, group_id)
    if group is None:
        raise GroupNotFound(f"no group {group_id}", group_id=group_id)
    if group.status != GroupStatus.DEAD.value:
        raise GroupNotDead(f"group {group_id} is {group.status}", group_id=group_id)
    return group


def revive(session: Session, *, actor: Principal, group_id: int, content: str) -> Group:
    """Back to active with the content that should wake it; the rule then judges only what
    happens from now on."""
    group = _dead_group(session, actor, group_id)
    now = utcnow()
    group.status, group.dead_since, group.dead_reason = GroupStatus.ACTIVE.value, None, None
    group.revived_at, group.revival_content = now, content[:200]
    session.flush()
    _audit(session, actor, group, "group.revive", {"content": group.revival_content})
    return group


def merge(session: Session, *, actor: Principal, group_id: int, target_group_id: int) -> Group:
    """Move the dead group's members into ``target`` (same store, open, room for all)."""
    group = _dead_group(session, actor, group_id)
    target = repository.group_for(session, actor, target_group_id)
    moving = list(repository.current_members(session, group.id))
    if (target is None or target.id == group.id or target.store_id != group.store_id
            or target.status != GroupStatus.ACTIVE.value
            or target.member_count + len(moving) > target.capacity):
        raise MergeTargetInvalid("merge into an active group of the same store with room "
                                 "for every member", target_group_id=target_group_id)
    now = utcnow()
    for member in moving:
        leave(session, group=group, customer_id=member.customer_id, at=now,
              source=MembershipSource.MERGE, actor_name=actor.name)
        if is_member(session, target, member.customer_id):
            continue
        if not repository.take_seat(session, target.id):  # filled meanwhile: nothing moves
            raise MergeTargetInvalid("the target group filled up meanwhile",
                                     target_group_id=target_group_id)
        join(session, group=target, customer_id=member.customer_id, at=now,
             source=MembershipSource.MERGE, seated=True, actor_name=actor.name)
    group.status, group.merged_into_id, group.closed_at = (GroupStatus.MERGED.value, target.id,
                                                           now)
    session.flush()
    _audit(session, actor, group, "group.merge", {"into": target.id, "members": len(moving)})
    return group


def dismiss(session: Session, *, actor: Principal, group_id: int) -> Group:
    group = _dead_group(session, actor, group_id)
    now = utcnow()
    members = list(repository.current_members(session, group.id))
    for member in members:
        leave(session, group=group, customer_id=member.customer_id, at=now,
              source=MembershipSource.DISMISS, actor_name=actor.name)
    group.status, group.closed_at = GroupStatus.DISMISSED.value, now
    session.flush()
    _audit(session, actor, group, "group.dismiss", {"members": len(members)})
    return group
