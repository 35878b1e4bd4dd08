"""Expected failures of offers, each with a stable code (the public contract) and a status."""

from __future__ import annotations

from yutang.kit.errors import Conflict, InvalidInput, NotFound


class CouponTemplateNotFound(NotFound):
    code = "coupon_template_not_found"


class CouponNotFound(NotFound):
    code = "coupon_not_found"


class OrderNotFound(NotFound):
    code = "order_not_found"


class TopUpPlanNotFound(NotFound):
    code = "top_up_plan_not_found"


class MembershipTierNotFound(NotFound):
    code = "membership_tier_not_found"


class InvalidCouponTemplate(InvalidInput):
    code = "invalid_coupon_template"


class InvalidTopUp(InvalidInput):
    code = "invalid_top_up"


class InvalidMembershipTier(InvalidInput):
    code = "invalid_membership_tier"


class InvalidReconciliationDate(InvalidInput):
    code = "invalid_reconciliation_date"


class CouponOutOfStock(Conflict):
    code = "coupon_out_of_stock"


class CouponClaimLimit(Conflict):
    code = "coupon_claim_limit"


class CouponTemplateClosed(Conflict):
    code = "coupon_template_closed"


class CouponAlreadyRedeemed(Conflict):
    code = "coupon_already_redeemed"


class CouponNotApplicable(Conflict):
    code = "coupon_not_applicable"


class CouponExpired(Conflict):
    code = "coupon_expired"


class CouponVoided(Conflict):
    code = "coupon_voided"


class CouponNotRedeemed(Conflict):
    code = "coupon_not_redeemed"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class RefundExceedsCharges(Conflict):
    code = "refund_exceeds_charges"


class MembershipTierTaken(Conflict):
    code = "membership_tier_taken"


class IdempotencyKeyReused(Conflict):
    """The key was used before for a different request."""

    code = "idempotency_key_reused"


class LedgerInvariantBroken(RuntimeError):
    """A bug, never an expected failure: a transaction whose legs do not sum to zero."""
