"""Use cases of offers, as the API, the console and jobs call them.

Every write takes an idempotency key and answers an ``Outcome`` (status and JSON body): a
replay of the key answers the first outcome, a domain error included (``idempotency``).
Services flush, never commit: the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import utcnow
from yutang.kit.errors import DomainError
from yutang.offers import (
    coupons,
    ledger_repository,
    membership,
    points,
    reconciliation,
    redemption,
    repository,
    stored_value,
)
from yutang.offers.idempotency import Keyed, Outcome, run_idempotent, run_idempotent_all
from yutang.offers.models import Coupon, CouponTemplate, MembershipTier, TierChange, WelcomeTrigger
from yutang.offers.policy import DEFAULT_POLICY, OffersPolicy
from yutang.offers.schemas import (
    ChargeIn,
    ClaimIn,
    CouponActionIn,
    CouponRead,
    CouponTemplateCreate,
    CouponTemplateRead,
    MemberRead,
    MembershipTierCreate,
    MembershipTierRead,
    PointsEarnIn,
    PointsRead,
    PointsRedeemIn,
    ReconciliationRead,
    RedemptionIn,
    RegradeResult,
    StoredValueRead,
    StoredValueRefundIn,
    SweepResult,
    TopUpIn,
    TopUpPlanCreate,
    TopUpPlanRead,
    Write,
)

__all__ = [
    "DEFAULT_POLICY",
    "OffersPolicy",
    "Outcome",
    "WelcomeTrigger",
    "grant_welcome_offer",
]


def _idempotent(session: Session, operation: str, target: str, data: Write,
                work: Callable[[], BaseModel]) -> Outcome:
    return run_idempotent(session, operation=operation, key=data.idempotency_key,
                          target=target, request=data.request(), work=work)


# --- coupons -------------------------------------------------------------------------------


def create_template(session: Session, *, actor: Principal,
                    data: CouponTemplateCreate) -> Outcome:
    def work() -> CouponTemplateRead:
        template = coupons.create_template(session, actor=actor, data=data)
        return coupons.present_templates(session, [template])[0]

    return _idempotent(session, "coupon_template.create", "", data, work)


def claim(session: Session, *, actor: Principal, template_id: int, data: ClaimIn) -> Outcome:
    def work() -> CouponRead:
        coupon = coupons.claim(session, actor=actor, template_id=template_id,
                               customer_id=data.customer_id, source=data.source)
        return _present(session, coupon)

    return _idempotent(session, "coupon.claim", f"template:{template_id}", data, work)


def redeem(session: Session, *, actor: Principal, code: str, data: RedemptionIn) -> Outcome:
    (answer,) = redeem_batch(session, [(actor, code, data)])
    if isinstance(answer, DomainError):
        raise answer
    return answer


def redeem_batch(session: Session, requests: Sequence[tuple[Principal, str, RedemptionIn]]
                 ) -> list[Outcome | DomainError]:
    """Redemptions (actor, coupon code, request) decided together in the session's
    transaction: each one's outcome, or the ``IdempotencyKeyReused`` that refused it."""
    codes = [code.strip().upper() for _, code, _ in requests]

    def decide(fresh: Sequence[tuple[int, int]]) -> list[Outcome]:
        return redemption.redeem_all(session, [redemption.RedemptionRequest(
            actor=requests[index][0], code=codes[index], order_id=requests[index][2].order_id,
            source=requests[index][2].source,
            external_order_id=requests[index][2].external_order_id, record_id=record_id)
            for index, record_id in fresh])

    return run_idempotent_all(
        session, operation="coupon.redeem", requests=[
            Keyed(key=data.idempotency_key, target=f"coupon:{code}", request=data.request())
            for (_, _, data), code in zip(requests, codes, strict=True)],
        work=decide)


def release(session: Session, *, actor: Principal, code: str, data: CouponActionIn) -> Outcome:
    code = code.strip().upper()
    return _idempotent(session, "coupon.release", f"coupon:{code}", data, lambda: _present(
        session, coupons.release(session, actor=actor, code=code, reason=data.reason)))


def void(session: Session, *, actor: Principal, code: str, data: CouponActionIn) -> Outcome:
    code = code.strip().upper()
    return _idempotent(session, "coupon.void", f"coupon:{code}", data, lambda: _present(
        session, coupons.void(session, actor=actor, code=code, reason=data.reason)))


def _present(session: Session, coupon: Coupon) -> CouponRead:
    return coupons.present_coupon(coupon, coupons.get_template(
        session, template_id=coupon.template_id))


def list_templates(session: Session, *, actor: Principal) -> list[CouponTemplateRead]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return coupons.present_templates(session, repository.templates(session))


def template_read(session: Session, *, actor: Principal, template_id: int) -> CouponTemplateRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    template = coupons.get_template(session, template_id=template_id)
    return coupons.present_templates(session, [template])[0]


def get_template(session: Session, *, template_id: int) -> CouponTemplate:
    return coupons.get_template(session, template_id=template_id)


def coupon_read(session: Session, *, actor: Principal, code: str) -> CouponRead:
    return _present(session, coupons.get_coupon(session, actor=actor, code=code))


def coupons_of(session: Session, *, actor: Principal, customer_id: int) -> list[CouponRead]:
    return coupons.coupons_of(session, actor=actor, customer_id=customer_id)


def close_template(session: Session, *, actor: Principal, template_id: int) -> CouponTemplate:
    return coupons.close_template(session, actor=actor, template_id=template_id)


def grant_welcome_offer(session: Session, *, customer_id: int, trigger: WelcomeTrigger,
                        code_state: str = "") -> list[CouponRead]:
    """Welcome coupons for a customer who added staff through a channel code or joined a
    group; idempotent by (customer, template). Call it after the contact is recorded, in
    the same transaction (see docs/domains/offers.md, "Welcome offers")."""
    granted = coupons.grant_welcome_offer(session, customer_id=customer_id, trigger=trigger,
                                          code_state=code_state)
    return [_present(session, coupon) for coupon in granted]


# --- stored value --------------------------------------------------------------------------


def create_plan(session: Session, *, actor: Principal, data: TopUpPlanCreate) -> Outcome:
    return _idempotent(session, "top_up_plan.create", "", data,
                       lambda: TopUpPlanRead.model_validate(
                           stored_value.create_plan(session, actor=actor, data=data)))


def list_plans(session: Session, *, actor: Principal) -> list[TopUpPlanRead]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return [TopUpPlanRead.model_validate(plan) for plan in repository.plans(session)]


def top_up(session: Session, *, actor: Principal, customer_id: int, data: TopUpIn) -> Outcome:
    return _idempotent(session, "stored_value.top_up", f"customer:{customer_id}", data,
                       lambda: stored_value.top_up(
                           session, actor=actor, customer_id=customer_id,
                           amount_fen=data.amount_fen, plan_id=data.plan_id))


def charge(session: Session, *, actor: Principal, customer_id: int, data: ChargeIn) -> Outcome:
    return _idempotent(session, "stored_value.charge", f"customer:{customer_id}", data,
                       lambda: stored_value.charge(
                           session, actor=actor, customer_id=customer_id,
                           amount_fen=data.amount_fen, order_id=data.order_id,
                           source=data.source, external_order_id=data.external_order_id))


def refund(session: Session, *, actor: Principal, customer_id: int, data: StoredValueRefundIn,
           policy: OffersPolicy = DEFAULT_POLICY) -> Outcome:
    return _idempotent(session, "stored_value.refund", f"customer:{customer_id}", data,
                       lambda: stored_value.refund(
                           session, actor=actor, customer_id=customer_id,
                           amount_fen=data.amount_fen, order_id=data.order_id,
                           source=data.source, external_order_id=data.external_order_id,
                           policy=policy))


def stored_value_of(session: Session, *, actor: Principal, customer_id: int) -> StoredValueRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return stored_value.view(session, actor=actor, customer_id=customer_id)


def stored_value_accounts(session: Session, *, actor: Principal,
                          limit: int = 200) -> list[tuple[int, int, int]]:
    """(customer id, principal, bonus) for the largest balances; HQ only."""
    access_service.require(actor, Permission.OFFERS_MANAGE)
    return list(ledger_repository.stored_value_accounts(session, limit=limit))


def reconcile(session: Session, *, actor: Principal, day: date) -> ReconciliationRead:
    return reconciliation.reconcile(session, actor=actor, day=day)


# --- points and membership -----------------------------------------------------------------


def earn_points(session: Session, *, actor: Principal, customer_id: int, data: PointsEarnIn,
                policy: OffersPolicy = DEFAULT_POLICY) -> Outcome:
    return _idempotent(session, "points.earn", f"customer:{customer_id}", data,
                       lambda: points.earn(
                           session, actor=actor, customer_id=customer_id, points=data.points,
                           amount_fen=data.amount_fen, order_id=data.order_id,
                           reference=data.reference, policy=policy))


def redeem_points(session: Session, *, actor: Principal, customer_id: int,
                  data: PointsRedeemIn) -> Outcome:
    return _idempotent(session, "points.redeem", f"customer:{customer_id}", data,
                       lambda: points.redeem(
                           session, actor=actor, customer_id=customer_id, points=data.points,
                           order_id=data.order_id, reference=data.reference))


def points_of(session: Session, *, actor: Principal, customer_id: int) -> PointsRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return points.view(session, actor=actor, customer_id=customer_id)


def create_tier(session: Session, *, actor: Principal, data: MembershipTierCreate) -> Outcome:
    return _idempotent(session, "membership_tier.create", "", data,
                       lambda: MembershipTierRead.model_validate(
                           membership.create_tier(session, actor=actor, data=data)))


def list_tiers(session: Session) -> list[MembershipTierRead]:
    return [MembershipTierRead.model_validate(tier) for tier in repository.tiers(session)]


def member_of(session: Session, *, actor: Principal, customer_id: int) -> MemberRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return membership.member(session, actor=actor, customer_id=customer_id)


def tier_summary(session: Session) -> list[tuple[MembershipTier | None, int, int]]:
    return membership.tier_summary(session)


def current_tier(session: Session, *, customer_id: int) -> TierChange | None:
    return membership.current_change(session, customer_id)


def regrade(session: Session, *, actor: Principal, now: datetime | None = None,
            policy: OffersPolicy = DEFAULT_POLICY) -> RegradeResult:
    return membership.regrade(session, actor=actor, now=now, policy=policy)


# --- jobs ----------------------------------------------------------------------------------


def sweep(session: Session, *, actor: Principal, now: datetime | None = None,
          welcome_since: timedelta = timedelta(days=2)) -> SweepResult:
    """The periodic job: expire coupons and points, release coupons of refunded or closed
    orders, grant welcome coupons for recent contacts and group joins (all idempotent)."""
    access_service.require(actor, Permission.OFFERS_MANAGE)
    moment = now or utcnow()
    return SweepResult(
        coupons_expired=coupons.expire_coupons(session, now=moment),
        coupons_released=coupons.release_for_ended_orders(session, actor_name=actor.name),
        points_expired=points.expire_points(session, now=moment),
        welcome_coupons=coupons.grant_welcome_offers_since(session,
                                                           since=moment - welcome_since),
    )
