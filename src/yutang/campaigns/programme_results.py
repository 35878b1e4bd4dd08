"""Results of a programme — a fission task (任务宝) or a group-buy deal (拼团) — measured
against the holdout of the campaigns that promote it (``promotions``).

Units. Every treated (sent or failed: intent to treat) and held-out delivery of the promoting
campaigns is a candidate, as in a campaign's results (``results.arm_units``); a customer is
counted **once per programme**: their earliest delivery (by anchor, then delivery id) decides
their arm and their anchor. So the arm is always the random assignment of the first campaign
that reached them; a later campaign that treats a customer the first one held out can only
pull the arms together (the uplift is then conservative), never make the arms differ by how
often people are reached. Conversions and GMV are the customer's paid or completed orders in
``[anchor, anchor + the anchoring campaign's attribution days)``; uplift (95% interval,
Newcombe), incremental GMV and ROI are computed as for a campaign.

No holdout. When no promoting campaign held a customer out, there is nothing to compare
with: ``has_holdout`` is false and the uplift, its interval, the incremental GMV and the ROI
are null — the arms' plain counts are still given.

Fission task. *Participants*: treated customers who started the task inside their window
(the holdout was never told about it: it is not compared). *Invitees*: friends who joined
through those participants' task codes, rejected ones excluded. *Cost*: the rewards granted to
those participants and the commissions paid on their friends' first orders — a reward coupon
costs its discount once redeemed, a point ``OffersPolicy.fen_per_point`` — plus the staff
time of the promoting campaigns.

Group-buy deal. *Bait purchases*: the arm's seats of succeeded teams bought inside the window
(members of failed teams were refunded and bought nothing, so they cost nothing either).
*Upgrades*: customers of the arm whose first bait purchase in the window was followed by a
full-price order, found by ``group_buy_conversion.first_full_orders`` exactly as the deal's
conversion report finds them. *Cost*: (list − bait price) × the treated customers' bait
purchases, plus the staff time of the promoting campaigns. Friends a treated leader brought
into a team are outside both arms: neither their GMV nor their discount is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.campaigns import policy, promotions
from yutang.campaigns.models import Campaign
from yutang.campaigns.programme_results_schemas import (
    FissionTaskResultsRead,
    GroupBuyDealResultsRead,
    PromotingCampaignRead,
)
from yutang.campaigns.results import (
    HOLDOUT_ARM,
    TREATED_ARM,
    ArmUnit,
    Tally,
    arm_fields,
    arm_units,
    compare,
    roi,
    staff_cost_fen,
    tally,
)
from yutang.fission import group_buy_repository, task_repository
from yutang.fission.group_buy import get_deal
from yutang.fission.group_buy_conversion import BaitPurchase, FullPrice, first_full_orders
from yutang.fission.models import RewardKind
from yutang.fission.tasks import get_task
from yutang.kit.sql import in_list
from yutang.offers.models import Coupon, CouponStatus
from yutang.offers.policy import DEFAULT_POLICY, OffersPolicy


@dataclass(frozen=True)
class _Programme:
    """The promoting campaigns, their units (one per customer) and both arms' tally."""

    campaigns: Sequence[Campaign]
    units: list[ArmUnit]
    found: Tally

    def by_customer(self, arm: str) -> dict[int, ArmUnit]:
        return {unit.customer_id: unit for unit in self.units if unit.arm == arm}

    def staff_cost_fen(self, session: Session) -> int:
        return sum(staff_cost_fen(session, campaign) for campaign in self.campaigns)

    def common_fields(self, *, cost_fen: int, staff_cost: int) -> dict[str, Any]:
        """The arms, the comparison (null without a holdout), cost and ROI, the campaigns."""
        has_holdout = self.found.holdout.units > 0
        compared = compare(self.found) if has_holdout else None
        incremental = compared.incremental_gmv_fen if compared else None
        anchored: dict[tuple[int, str], int] = {}
        for unit in self.units:
            anchored[unit.campaign_id, unit.arm] = anchored.get((unit.campaign_id, unit.arm),
                                                                0) + 1
        return {
            **arm_fields(self.found), "has_holdout": has_holdout,
            "uplift": compared.uplift if compared else None,
            "uplift_low": compared.uplift_low if compared else None,
            "uplift_high": compared.uplift_high if compared else None,
            "incremental_gmv_fen": incremental, "staff_cost_fen": staff_cost,
            "cost_fen": cost_fen,
            "roi": roi(compared.incremental_gmv_fen, cost_fen) if compared else None,
            "campaigns": [PromotingCampaignRead(
                id=campaign.id, name=campaign.name, status=campaign.status,
                holdout_share=campaign.holdout_basis_points / 10_000,
                attribution_days=campaign.attribution_days,
                treated=anchored.get((campaign.id, TREATED_ARM), 0),
                holdout=anchored.get((campaign.id, HOLDOUT_ARM), 0))
                for campaign in self.campaigns],
        }


def _programme(session: Session, campaigns: Sequence[Campaign]) -> _Programme:
    units = arm_units(session, campaign_ids=[campaign.id for campaign in campaigns],
                      first_per_customer=True)
    return _Programme(campaigns=campaigns, units=units, found=tally(units))


def _redeemed_discount_fen(session: Session, coupon_codes: Sequence[str]) -> int:
    if not coupon_codes:
        return 0
    return int(session.scalar(select(func.coalesce(func.sum(Coupon.discount_fen), 0)).where(
        in_list(Coupon.code, coupon_codes),
        Coupon.status == CouponStatus.REDEEMED.value)) or 0)


def fission_task_results(session: Session, *, actor: Principal, task_id: int,
                         offers_policy: OffersPolicy = DEFAULT_POLICY
                         ) -> FissionTaskResultsRead:
    access_service.require(actor, policy.READ)
    task = get_task(session, task_id=task_id)
    programme = _programme(session, promotions.promoting_campaigns(session, task_id=task.id))
    treated = programme.by_customer(TREATED_ARM)
    participations = [(participant_id, code_id) for participant_id, customer_id, code_id, at
                      in task_repository.participations_of(session, task.id, treated)
                      if treated[customer_id].in_window(at)]
    participant_ids = [participant_id for participant_id, _ in participations]
    code_ids = [code_id for _, code_id in participations]
    rewards = task_repository.granted_rewards_of(session, participant_ids, code_ids)
    points = sum(points for kind, points, _ in rewards
                 if kind in (RewardKind.POINTS.value, RewardKind.COMMISSION.value))
    coupon_cost = _redeemed_discount_fen(session, [code for kind, _, code in rewards
                                                   if kind == RewardKind.COUPON.value and code])
    points_cost = points * offers_policy.fen_per_point
    staff_cost = programme.staff_cost_fen(session)
    return FissionTaskResultsRead(
        **programme.common_fields(cost_fen=coupon_cost + points_cost + staff_cost,
                                  staff_cost=staff_cost),
        task_id=task.id, name=task.name, participants=len(participations),
        participation_rate=len(participations) / len(treated) if treated else 0.0,
        invitees=task_repository.joined_through(session, code_ids),
        rewards_granted=len(rewards), reward_coupon_cost_fen=coupon_cost,
        reward_points=points, reward_points_cost_fen=points_cost)


def group_buy_deal_results(session: Session, *, actor: Principal,
                           deal_id: int) -> GroupBuyDealResultsRead:
    access_service.require(actor, policy.READ)
    deal = get_deal(session, deal_id=deal_id)
    programme = _programme(session, promotions.promoting_campaigns(session, deal_id=deal.id))
    units = {unit.customer_id: unit for unit in programme.units}
    rule = FullPrice(sku=deal.product_sku, list_price_fen=deal.list_price_fen,
                     threshold_fen=deal.full_order_threshold_fen)
    purchases = {TREATED_ARM: 0, HOLDOUT_ARM: 0}
    firsts: dict[int, BaitPurchase] = {}
    for customer_id, order_id, at in group_buy_repository.bait_orders_of_deal(session,
                                                                              deal.id):
        unit = units.get(customer_id)
        if unit is None or not unit.in_window(at):
            continue
        purchases[unit.arm] += 1
        firsts.setdefault(customer_id, BaitPurchase(customer_id, order_id, at, rule))
    upgrades = {TREATED_ARM: 0, HOLDOUT_ARM: 0}
    for bait in first_full_orders(session, firsts.values()):
        upgrades[units[bait.customer_id].arm] += 1
    discount = (deal.list_price_fen - deal.bait_price_fen) * purchases[TREATED_ARM]
    staff_cost = programme.staff_cost_fen(session)
    return GroupBuyDealResultsRead(
        **programme.common_fields(cost_fen=discount + staff_cost, staff_cost=staff_cost),
        deal_id=deal.id, name=deal.name,
        treated_bait_purchases=purchases[TREATED_ARM],
        holdout_bait_purchases=purchases[HOLDOUT_ARM],
        treated_upgrades=upgrades[TREATED_ARM], holdout_upgrades=upgrades[HOLDOUT_ARM],
        bait_discount_fen=discount)
