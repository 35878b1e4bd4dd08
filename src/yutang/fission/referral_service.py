"""Use cases of referrals, fission tasks, partners and their metrics, as the API, the
console, the CLI and the demo call them (they import this module and the schemas only).
Services flush, never commit: the caller's unit of work commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import (
    metrics,
    partners,
    referral_codes,
    referral_repository,
    referral_tree,
    referrals,
    tasks,
)
from yutang.fission.metrics_schemas import FissionMetricsRead
from yutang.fission.partner_schemas import (
    PartnerCreate,
    PartnerOfferCreate,
    PartnerOfferRead,
    PartnerRead,
    PartnerReferralIn,
    PartnerReferralRead,
)
from yutang.fission.referral_codes import ReferralLinks
from yutang.fission.referral_schemas import (
    ReferralCodeCreate,
    ReferralCodeRead,
    ReferralIn,
    ReferralRead,
    ReferralTransitionIn,
)
from yutang.fission.referral_tree import TreeNode
from yutang.fission.referrals import SweepResult
from yutang.fission.task_schemas import (
    FissionTaskCreate,
    FissionTaskRead,
    ParticipantRead,
    PurchaseRightRead,
)
from yutang.fission.tasks import DEFAULT_POLICY, FissionPolicy

__all__ = ["DEFAULT_POLICY", "FissionPolicy", "ReferralLinks", "SweepResult", "TreeNode"]


# --- codes and edges -----------------------------------------------------------------------


def create_code(session: Session, *, actor: Principal, data: ReferralCodeCreate,
                links: ReferralLinks) -> tuple[ReferralCodeRead, bool]:
    code, created = referral_codes.create_code(session, actor=actor, data=data)
    return referral_codes.present_codes(session, [code], links)[0], created


def code_read(session: Session, *, actor: Principal, code: str,
              links: ReferralLinks) -> ReferralCodeRead:
    found = referral_codes.get_code(session, actor=actor, code=code)
    return referral_codes.present_codes(session, [found], links)[0]


def code_is_active(session: Session, *, code: str) -> bool:
    """Whether a referral link leads anywhere (the public landing page; no personal data)."""
    found = referral_repository.code_by_text(session, code.strip())
    return found is not None and found.is_active


def record_referral(session: Session, *, actor: Principal,
                    data: ReferralIn) -> tuple[ReferralRead, bool]:
    edge, created = referrals.record(session, actor=actor, data=data)
    return ReferralRead.model_validate(edge), created


def referral_read(session: Session, *, actor: Principal, referral_id: int) -> ReferralRead:
    return ReferralRead.model_validate(referrals.get_edge(session, actor=actor,
                                                          edge_id=referral_id))


def transition(session: Session, *, actor: Principal, referral_id: int,
               data: ReferralTransitionIn) -> ReferralRead:
    return ReferralRead.model_validate(referrals.transition(
        session, actor=actor, edge_id=referral_id, data=data))


def sweep(session: Session) -> SweepResult:
    """The periodic job: first orders after the cursor, watched orders, pending rewards."""
    return referrals.sweep(session)


def customer_tree(session: Session, *, actor: Principal, customer_id: int) -> TreeNode:
    return referral_tree.customer_tree(session, actor=actor, customer_id=customer_id)


def task_tree(session: Session, *, actor: Principal, task_id: int) -> TreeNode:
    return referral_tree.task_tree(session, actor=actor, task_id=task_id)


# --- tasks ---------------------------------------------------------------------------------


def create_task(session: Session, *, actor: Principal, data: FissionTaskCreate,
                policy: FissionPolicy = DEFAULT_POLICY) -> FissionTaskRead:
    task = tasks.create_task(session, actor=actor, data=data, policy=policy)
    return tasks.present_tasks(session, [task])[0]


def list_tasks(session: Session, *, actor: Principal) -> list[FissionTaskRead]:
    return tasks.list_tasks(session, actor=actor)


def task_read(session: Session, *, actor: Principal, task_id: int) -> FissionTaskRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return tasks.present_tasks(session, [tasks.get_task(session, task_id=task_id)])[0]


def close_task(session: Session, *, actor: Principal, task_id: int) -> FissionTaskRead:
    task = tasks.close_task(session, actor=actor, task_id=task_id)
    return tasks.present_tasks(session, [task])[0]


def participate(session: Session, *, actor: Principal, task_id: int,
                customer_id: int) -> tuple[ParticipantRead, bool]:
    participant, created = tasks.participate(session, actor=actor, task_id=task_id,
                                             customer_id=customer_id)
    task = tasks.get_task(session, task_id=task_id)
    return tasks.present_participant(session, task, participant), created


def progress(session: Session, *, actor: Principal, task_id: int,
             customer_id: int) -> ParticipantRead:
    return tasks.progress(session, actor=actor, task_id=task_id, customer_id=customer_id)


def purchase_rights(session: Session, *, actor: Principal,
                    customer_id: int) -> list[PurchaseRightRead]:
    return tasks.purchase_rights(session, actor=actor, customer_id=customer_id)


# --- partners ------------------------------------------------------------------------------


def create_partner(session: Session, *, actor: Principal, data: PartnerCreate,
                   links: ReferralLinks) -> PartnerRead:
    return partners.present(session, [partners.create_partner(session, actor=actor,
                                                              data=data)], links)[0]


def list_partners(session: Session, *, actor: Principal,
                  links: ReferralLinks) -> list[PartnerRead]:
    return partners.present(session, partners.list_partners(session, actor=actor), links)


def partner_read(session: Session, *, actor: Principal, partner_id: int,
                 links: ReferralLinks) -> PartnerRead:
    return partners.present(session, [partners.get_partner(session, actor=actor,
                                                           partner_id=partner_id)], links)[0]


def add_partner_offer(session: Session, *, actor: Principal, partner_id: int,
                      data: PartnerOfferCreate) -> PartnerOfferRead:
    return PartnerOfferRead.model_validate(partners.add_offer(
        session, actor=actor, partner_id=partner_id, data=data))


def send_to_partner(session: Session, *, actor: Principal, partner_id: int,
                    data: PartnerReferralIn) -> tuple[PartnerReferralRead, bool]:
    row, created = partners.send_customer(session, actor=actor, partner_id=partner_id,
                                          data=data)
    return PartnerReferralRead.model_validate(row), created


# --- metrics -------------------------------------------------------------------------------


def fission_metrics(session: Session, *, actor: Principal, task_id: int | None = None,
                    since: datetime | None = None,
                    until: datetime | None = None) -> FissionMetricsRead:
    return metrics.fission_metrics(session, actor=actor, task_id=task_id, since=since,
                                   until=until)
