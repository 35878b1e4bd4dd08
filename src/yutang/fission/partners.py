"""Partners (友商): merchants who offer their goods to our customers and share traffic.

Each partner gets our referral code to share (its customers who come through it are
attributed to the partner: an edge with ``referrer_partner_id``, the same single-level rules
as any referral), and may give us theirs (``outbound_code``) for the customers we send them,
recorded once per customer. Both counts are shown side by side.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import partner_repository as repository
from yutang.fission.errors import PartnerCodeTaken, PartnerNotFound
from yutang.fission.models import Partner, PartnerOffer, PartnerReferral
from yutang.fission.partner_schemas import (
    PartnerCreate,
    PartnerOfferCreate,
    PartnerOfferRead,
    PartnerRead,
    PartnerReferralIn,
)
from yutang.fission.referral_codes import ReferralLinks, partner_code
from yutang.kit.clock import ensure_utc
from yutang.pool import service as pool_service


def create_partner(session: Session, *, actor: Principal, data: PartnerCreate) -> Partner:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    if repository.partner_by_code(session, data.code) is not None:
        raise PartnerCodeTaken(f"a partner {data.code!r} exists", code=data.code)
    partner = Partner(code=data.code, name=data.name, category=data.category,
                      outbound_code=data.outbound_code, created_by=actor.name)
    session.add(partner)
    session.flush()
    partner_code(session, partner_id=partner.id, actor_name=actor.name)
    access_service.record_audit(session, actor=actor, action="partner.create",
                                entity_type="partner", entity_id=partner.id,
                                details={"code": partner.code})
    return partner


def get_partner(session: Session, *, actor: Principal, partner_id: int) -> Partner:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    partner = repository.partner_by_id(session, partner_id)
    if partner is None:
        raise PartnerNotFound(f"no partner {partner_id}", partner_id=partner_id)
    return partner


def list_partners(session: Session, *, actor: Principal) -> Sequence[Partner]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    return repository.partners(session)


def add_offer(session: Session, *, actor: Principal, partner_id: int,
              data: PartnerOfferCreate) -> PartnerOffer:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    partner = get_partner(session, actor=actor, partner_id=partner_id)
    offer = PartnerOffer(partner_id=partner.id, title=data.title, description=data.description,
                         price_fen=data.price_fen,
                         starts_at=ensure_utc(data.starts_at) if data.starts_at else None,
                         ends_at=ensure_utc(data.ends_at) if data.ends_at else None)
    session.add(offer)
    session.flush()
    access_service.record_audit(session, actor=actor, action="partner_offer.create",
                                entity_type="partner", entity_id=partner.id,
                                details={"offer_id": offer.id, "title": offer.title})
    return offer


def send_customer(session: Session, *, actor: Principal, partner_id: int,
                  data: PartnerReferralIn) -> tuple[PartnerReferral, bool]:
    """Our customer was sent to the partner (counted once per partner); (row, created)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    partner = get_partner(session, actor=actor, partner_id=partner_id)
    customer = pool_service.get_customer(session, principal=actor, customer_id=data.customer_id)
    offer_id = data.offer_id
    if offer_id is not None and not any(offer.id == offer_id for offer in
                                        repository.offers_of(session, [partner.id])):
        raise PartnerNotFound(f"partner {partner.id} has no offer {offer_id}",
                              partner_id=partner.id, offer_id=offer_id)
    created = repository.insert_partner_referral(session, partner_id=partner.id,
                                                 customer_id=customer.id, offer_id=offer_id)
    if created is not None:
        found = repository.partner_referral_by_id(session, int(created))
    else:
        found = repository.partner_referral(session, partner_id=partner.id,
                                            customer_id=customer.id)
    assert found is not None
    return found, created is not None


def present(session: Session, partners: Sequence[Partner],
            links: ReferralLinks) -> list[PartnerRead]:
    ids = [partner.id for partner in partners]
    codes = repository.inbound_codes(session, ids)
    inbound = repository.sent_to_us(session, ids)
    outbound = repository.sent_to_them(session, ids)
    offers: dict[int, list[PartnerOfferRead]] = {}
    for offer in repository.offers_of(session, ids):
        offers.setdefault(offer.partner_id, []).append(PartnerOfferRead.model_validate(offer))
    reads = []
    for partner in partners:
        code = codes.get(partner.id)
        reads.append(PartnerRead(
            id=partner.id, code=partner.code, name=partner.name, category=partner.category,
            inbound_code=code.code if code else "", inbound_url=links.link(code) if code else "",
            outbound_code=partner.outbound_code, is_active=partner.is_active,
            created_at=partner.created_at, sent_to_us=inbound.get(partner.id, (0, 0))[0],
            joined_from_them=inbound.get(partner.id, (0, 0))[1],
            sent_to_them=outbound.get(partner.id, 0), offers=offers.get(partner.id, [])))
    return reads
