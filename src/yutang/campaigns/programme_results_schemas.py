"""The public shapes of a programme's results (a fission task's, a group-buy deal's): both
arms as a campaign's results give them, and what the programme adds."""

from __future__ import annotations

from pydantic import BaseModel

from yutang.campaigns.schemas import ArmsRead


class PromotingCampaignRead(BaseModel):
    """A campaign promoting the programme and the customers it is the anchor of."""

    id: int
    name: str
    status: str
    holdout_share: float
    attribution_days: int
    treated: int
    holdout: int


class ProgrammeResultsRead(ArmsRead):
    has_holdout: bool
    """False when no promoting campaign held a customer out: then there is nothing to compare
    against, and the uplift, its interval, the incremental GMV and the ROI are null."""
    uplift: float | None
    uplift_low: float | None
    uplift_high: float | None
    """The 95% interval of the uplift (Newcombe's hybrid Wilson score interval)."""
    incremental_gmv_fen: int | None
    staff_cost_fen: int
    """Staff time of the promoting campaigns' sent deliveries."""
    cost_fen: int
    roi: float | None
    """(incremental GMV − cost) / cost; null without a holdout or without cost."""
    campaigns: list[PromotingCampaignRead]


class FissionTaskResultsRead(ProgrammeResultsRead):
    task_id: int
    name: str
    participants: int
    """Treated customers who started the task inside their attribution window (the holdout
    was not told about it, so it is not compared)."""
    participation_rate: float
    invitees: int
    """Friends who joined through those participants' task codes (rejected ones excluded)."""
    rewards_granted: int
    reward_coupon_cost_fen: int
    """Discounts of the reward coupons that were redeemed."""
    reward_points: int
    reward_points_cost_fen: int
    """The points rewarded, valued at the offers policy's ``fen_per_point``."""


class GroupBuyDealResultsRead(ProgrammeResultsRead):
    deal_id: int
    name: str
    treated_bait_purchases: int
    holdout_bait_purchases: int
    """Seats of succeeded teams bought inside the attribution window (a failed team's
    members were refunded: they bought nothing)."""
    treated_upgrades: int
    holdout_upgrades: int
    """Customers of the arm whose first bait purchase in the window was followed by a
    full-price order (as the deal's conversion report counts them)."""
    bait_discount_fen: int
    """(list − bait price) × the treated customers' bait purchases."""
