"""Every query of partners, their offers and the customers sent each way."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yutang.fission.models import (
    EdgeStatus,
    OwnerKind,
    Partner,
    PartnerOffer,
    PartnerReferral,
    ReferralCode,
    ReferralEdge,
)
from yutang.kit.sql import in_list, insert_into, table_of


def partners(session: Session) -> Sequence[Partner]:
    return session.scalars(select(Partner).order_by(Partner.id)).all()


def partner_by_id(session: Session, partner_id: int) -> Partner | None:
    return session.get(Partner, partner_id)


def partner_by_code(session: Session, code: str) -> Partner | None:
    return session.scalars(select(Partner).where(Partner.code == code)).one_or_none()


def inbound_codes(session: Session, partner_ids: Collection[int]) -> dict[int, ReferralCode]:
    if not partner_ids:
        return {}
    codes = session.scalars(select(ReferralCode).where(
        in_list(ReferralCode.partner_id, partner_ids),
        ReferralCode.owner_kind == OwnerKind.PARTNER.value).order_by(ReferralCode.id))
    found: dict[int, ReferralCode] = {}
    for code in codes:
        if code.partner_id is not None:
            found.setdefault(code.partner_id, code)
    return found


def sent_to_us(session: Session, partner_ids: Collection[int]) -> dict[int, tuple[int, int]]:
    """partner id → (customers they sent us, of whom joined)."""
    if not partner_ids:
        return {}
    joined = func.sum(case((ReferralEdge.joined_at.is_not(None), 1), else_=0))
    rows = session.execute(
        select(ReferralEdge.referrer_partner_id, func.count(), joined)
        .where(in_list(ReferralEdge.referrer_partner_id, partner_ids),
               ReferralEdge.status != EdgeStatus.REJECTED.value)
        .group_by(ReferralEdge.referrer_partner_id))
    return {int(partner_id): (int(total), int(done or 0)) for partner_id, total, done in rows}


def sent_to_them(session: Session, partner_ids: Collection[int]) -> dict[int, int]:
    if not partner_ids:
        return {}
    rows = session.execute(
        select(PartnerReferral.partner_id, func.count())
        .where(in_list(PartnerReferral.partner_id, partner_ids))
        .group_by(PartnerReferral.partner_id))
    return {int(partner_id): int(total) for partner_id, total in rows}


def offers_of(session: Session, partner_ids: Collection[int]) -> Sequence[PartnerOffer]:
    if not partner_ids:
        return []
    return session.scalars(select(PartnerOffer).where(
        in_list(PartnerOffer.partner_id, partner_ids)).order_by(PartnerOffer.id)).all()


def insert_partner_referral(session: Session, *, partner_id: int, customer_id: int,
                            offer_id: int | None) -> int | None:
    table = table_of(PartnerReferral)
    return session.execute(
        insert_into(session, PartnerReferral).values(
            partner_id=partner_id, customer_id=customer_id, customer_key=customer_id,
            offer_id=offer_id)
        .on_conflict_do_nothing(index_elements=["partner_id", "customer_key"])
        .returning(table.c.id)).scalar_one_or_none()


def partner_referral(session: Session, *, partner_id: int,
                     customer_id: int) -> PartnerReferral | None:
    return session.scalars(select(PartnerReferral).where(
        PartnerReferral.partner_id == partner_id,
        PartnerReferral.customer_id == customer_id).order_by(PartnerReferral.id).limit(1)
    ).first()


def partner_referral_by_id(session: Session, referral_id: int) -> PartnerReferral | None:
    return session.get(PartnerReferral, referral_id)
