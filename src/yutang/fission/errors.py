"""Expected failures of fission, each with a stable code (the public contract) and a status."""

from __future__ import annotations

from yutang.kit.errors import Conflict, InvalidInput, NotFound

# --- group-buy (拼团) --------------------------------------------------------------------------


class GroupBuyDealNotFound(NotFound):
    code = "group_buy_deal_not_found"


class GroupBuyTeamNotFound(NotFound):
    code = "group_buy_team_not_found"


class InvalidGroupBuyDeal(InvalidInput):
    code = "invalid_group_buy_deal"


class DealClosed(Conflict):
    """The deal takes no new teams."""

    code = "deal_closed"


class DealSoldOut(Conflict):
    code = "deal_sold_out"


class TeamFull(Conflict):
    code = "team_full"


class TeamClosed(Conflict):
    """The team succeeded, failed or ran out of time."""

    code = "team_closed"


class AlreadyInTeam(Conflict):
    code = "already_in_team"


# --- bargaining (砍价) -------------------------------------------------------------------------


class BargainNotFound(NotFound):
    code = "bargain_not_found"


class InvalidBargain(InvalidInput):
    code = "invalid_bargain"


class BargainExpired(Conflict):
    code = "bargain_expired"


class BargainCompleted(Conflict):
    """Every help came in: the price is at the floor already."""

    code = "bargain_completed"


class AlreadyHelped(Conflict):
    """One help per friend."""

    code = "already_helped"


class CannotHelpOwnBargain(Conflict):
    code = "cannot_help_own_bargain"


# --- store KPIs ----------------------------------------------------------------------------------


class InvalidKpiPeriod(InvalidInput):
    code = "invalid_kpi_period"


# --- referrals, fission tasks and partners -------------------------------------------------------


class ReferralCodeNotFound(NotFound):
    code = "referral_code_not_found"


class ReferralNotFound(NotFound):
    code = "referral_not_found"


class FissionTaskNotFound(NotFound):
    code = "fission_task_not_found"


class ParticipantNotFound(NotFound):
    code = "participant_not_found"


class PartnerNotFound(NotFound):
    code = "partner_not_found"


class InvalidReferralCode(InvalidInput):
    """The owner of a new code is missing or does not match its kind."""

    code = "invalid_referral_code"


class InvalidFissionTask(InvalidInput):
    code = "invalid_fission_task"


class InvalidReferralTransition(InvalidInput):
    code = "invalid_referral_transition"


class InvalidMetricsPeriod(InvalidInput):
    code = "invalid_metrics_period"


class CommissionsDisabled(InvalidInput):
    """Commissions are off (the default): rewards are for the task, not a pyramid."""

    code = "commissions_disabled"


class SelfReferral(Conflict):
    code = "self_referral"


class AlreadyReferred(Conflict):
    """The customer already has a referrer: attribution is single-level and first-come."""

    code = "already_referred"


class ReferralCycle(Conflict):
    """The customer is an ancestor of the referrer in the referral tree."""

    code = "referral_cycle"


class ReferralCodeInactive(Conflict):
    code = "referral_code_inactive"


class ReferralStatusConflict(Conflict):
    """The edge is not in a state that may move to the asked one (forward only)."""

    code = "referral_status_conflict"


class FissionTaskClosed(Conflict):
    code = "fission_task_closed"


class PartnerCodeTaken(Conflict):
    code = "partner_code_taken"
