"""The merchant's rules for points, tiers and stored value (defaults; pass your own)."""

from __future__ import annotations

from dataclasses import dataclass

from yutang.offers.models import TierBasis


@dataclass(frozen=True)
class OffersPolicy:
    points_per_yuan: int = 1
    """Points earned per whole yuan spent (the fen beyond the last whole yuan earn none)."""
    points_valid_days: int = 365
    """Points expire this many days after they were earned, oldest first."""
    fen_per_point: int = 1
    """What a point costs the merchant, in fen (100 points = 1 yuan, the usual 积分抵现 rate):
    how the results of a programme value the points it rewarded."""
    tier_basis: TierBasis = TierBasis.SPEND
    """Tiers by trailing-12-month spend or by points earned in that time."""
    super_user_spend_fen: int = 2_000_000
    """A customer who spent this much in the trailing 12 months is a super user (20,000 yuan,
    seed 003: they get their own circle)."""
    bonus_refundable: bool = False
    """Whether a cash refund may pay out bonus. If not, refunding principal forfeits the
    bonus in proportion (all of it when all the principal is refunded)."""


DEFAULT_POLICY = OffersPolicy()
