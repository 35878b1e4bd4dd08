"""Membership tiers (普通/银卡/金卡/黑金…) by trailing-12-month spend or points, the
regrading job, each member's tier history, and the "super user" mark.

A member's tier is the newest row of their history (``tier_change``, append-only); the
regrading job writes a row only when the tier or the super-user mark changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import utcnow
from yutang.offers import repository
from yutang.offers.errors import MembershipTierTaken
from yutang.offers.lookups import resolve_customer
from yutang.offers.models import MembershipTier, TierBasis, TierChange
from yutang.offers.policy import DEFAULT_POLICY, OffersPolicy
from yutang.offers.schemas import (
    MemberRead,
    MembershipTierCreate,
    RegradeResult,
    TierChangeRead,
)

TRAILING = timedelta(days=365)


def create_tier(session: Session, *, actor: Principal,
                data: MembershipTierCreate) -> MembershipTier:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    if repository.tier_by_code_or_rank(session, data.code, data.rank) is not None:
        raise MembershipTierTaken(f"a tier with code {data.code!r} or rank {data.rank} exists",
                                  code=data.code, rank=data.rank)
    tier = MembershipTier(code=data.code, name=data.name, rank=data.rank,
                          min_spend_fen=data.min_spend_fen, min_points=data.min_points)
    session.add(tier)
    session.flush()
    access_service.record_audit(session, actor=actor, action="membership_tier.create",
                                entity_type="membership_tier", entity_id=tier.id,
                                details={"code": tier.code, "rank": tier.rank})
    return tier


def tier_for(tiers: list[MembershipTier], *, spend_fen: int, points: int,
             basis: TierBasis) -> MembershipTier | None:
    """The highest tier whose threshold the member reaches (tiers sorted by rank)."""
    reached = None
    for tier in tiers:
        measure, needed = ((spend_fen, tier.min_spend_fen) if basis is TierBasis.SPEND
                           else (points, tier.min_points))
        if measure >= needed:
            reached = tier
    return reached


def regrade(session: Session, *, actor: Principal, now: datetime | None = None,
            policy: OffersPolicy = DEFAULT_POLICY) -> RegradeResult:
    """Grade every customer with spend, points or a tier by the trailing 12 months."""
    access_service.require(actor, Permission.OFFERS_MANAGE)
    moment = now or utcnow()
    since = moment - TRAILING
    tiers = list(repository.tiers(session))
    spend = repository.spend_since(session, since)
    points = repository.points_earned_since(session, since)
    current = repository.current_tiers(session)
    customers = repository.live_customer_ids(session, set(spend) | set(points) | set(current))
    changed = supers = 0
    for customer_id in sorted(customers):
        spent, earned = spend.get(customer_id, 0), points.get(customer_id, 0)
        tier = tier_for(tiers, spend_fen=spent, points=earned, basis=policy.tier_basis)
        is_super = spent >= policy.super_user_spend_fen
        supers += is_super
        before = current.get(customer_id)
        tier_id = tier.id if tier else None
        if before is not None and (before.tier_id, before.is_super_user) == (tier_id, is_super):
            continue
        if before is None and tier is None and not is_super:
            continue
        session.add(TierChange(customer_id=customer_id, at=moment,
                               from_tier_id=before.tier_id if before else None,
                               tier_id=tier_id, is_super_user=is_super, spend_fen=spent,
                               points=earned, reason="regrade"))
        changed += 1
    session.flush()
    if changed:
        access_service.record_audit(session, actor=actor, action="membership.regrade",
                                    entity_type="membership", details={"changed": changed})
    return RegradeResult(customers=len(customers), changed=changed, super_users=supers)


def member(session: Session, *, actor: Principal, customer_id: int) -> MemberRead:
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    tiers = {tier.id: tier for tier in repository.tiers(session)}
    history = repository.tier_history(session, customer.id)

    def code(tier_id: int | None) -> str | None:
        return tiers[tier_id].code if tier_id in tiers and tier_id is not None else None

    newest = history[0] if history else None
    current_tier = tiers.get(newest.tier_id) if newest and newest.tier_id else None
    return MemberRead(
        customer_id=customer.id, tier=current_tier.code if current_tier else None,
        tier_name=current_tier.name if current_tier else None,
        is_super_user=bool(newest and newest.is_super_user),
        history=[TierChangeRead(at=row.at, from_tier=code(row.from_tier_id),
                                tier=code(row.tier_id), is_super_user=row.is_super_user,
                                spend_fen=row.spend_fen, points=row.points, reason=row.reason)
                 for row in history],
    )


def tier_summary(session: Session) -> list[tuple[MembershipTier | None, int, int]]:
    """(tier, members, super users) per tier, lowest first; ``None``: members below all."""
    counts = repository.members_by_tier(session)
    rows: list[tuple[MembershipTier | None, int, int]] = []
    if None in counts:
        rows.append((None, *counts[None]))
    for tier in repository.tiers(session):
        members, supers = counts.get(tier.id, (0, 0))
        rows.append((tier, members, supers))
    return rows


def current_change(session: Session, customer_id: int) -> TierChange | None:
    return repository.current_tiers(session, [customer_id]).get(customer_id)
