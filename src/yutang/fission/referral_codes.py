"""Referral codes and links for customers, KOCs and staff (partners get theirs with the
partner, tasks with each participant)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import referral_repository as repository
from yutang.fission.errors import InvalidReferralCode, ReferralCodeNotFound
from yutang.fission.models import CUSTOMER_OWNER_KINDS, OwnerKind, ReferralCode
from yutang.fission.referral_schemas import ReferralCodeCreate, ReferralCodeRead
from yutang.kit.clock import utcnow
from yutang.pool import service as pool_service


def new_code() -> str:
    """12 random URL-safe characters after ``rf``: unguessable, short enough for a link."""
    return "rf" + secrets.token_urlsafe(9)


@dataclass(frozen=True)
class ReferralLinks:
    base_url: str

    def link(self, code: ReferralCode) -> str:
        return f"{self.base_url}/i/{code.code}"


def create_code(session: Session, *, actor: Principal,
                data: ReferralCodeCreate) -> tuple[ReferralCode, bool]:
    """The owner's code, made now or found (one general code per owner and kind);
    (code, created)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    owner_kind = data.owner_kind
    customer_id = staff_user_id = store_id = None
    if owner_kind in CUSTOMER_OWNER_KINDS:
        assert data.customer_id is not None
        customer = pool_service.get_customer(session, principal=actor,
                                             customer_id=data.customer_id)
        customer_id, store_id = customer.id, customer.store_id
    else:
        assert data.staff_username is not None
        user = access_service.get_user_by_username(session, username=data.staff_username)
        if actor.is_store_scoped and user.store_id != actor.store_id:
            raise InvalidReferralCode("staff of another store", staff_username=user.username)
        staff_user_id, store_id = user.id, user.store_id
    existing = repository.general_code(session, owner_kind=owner_kind.value,
                                       customer_id=customer_id, staff_user_id=staff_user_id)
    if existing is not None:
        return existing, False
    code = ReferralCode(code=new_code(), owner_kind=owner_kind.value, customer_id=customer_id,
                        staff_user_id=staff_user_id, store_id=store_id, created_by=actor.name,
                        created_at=utcnow())
    session.add(code)
    session.flush()
    access_service.record_audit(session, actor=actor, action="referral_code.create",
                                entity_type="referral_code", entity_id=code.id,
                                store_id=store_id, details={"owner_kind": owner_kind.value})
    return code, True


def partner_code(session: Session, *, partner_id: int, actor_name: str) -> ReferralCode:
    """Our code for a partner to share with its customers."""
    code = ReferralCode(code=new_code(), owner_kind=OwnerKind.PARTNER.value,
                        partner_id=partner_id, created_by=actor_name, created_at=utcnow())
    session.add(code)
    session.flush()
    return code


def get_code(session: Session, *, actor: Principal, code: str) -> ReferralCode:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    found = repository.code_by_text(session, code.strip())
    if found is None or (actor.is_store_scoped and found.store_id not in (None, actor.store_id)):
        raise ReferralCodeNotFound(f"no referral code {code!r}", code=code)
    return found


def present_codes(session: Session, codes: Sequence[ReferralCode],
                  links: ReferralLinks) -> list[ReferralCodeRead]:
    counts = repository.code_counts(session, [code.id for code in codes])
    return [
        ReferralCodeRead(
            id=code.id, code=code.code, url=links.link(code), owner_kind=code.owner_kind,
            customer_id=code.customer_id, staff_user_id=code.staff_user_id,
            partner_id=code.partner_id, task_id=code.task_id, store_id=code.store_id,
            is_active=code.is_active, created_at=code.created_at,
            referrals=counts.get(code.id, (0, 0))[0], joined=counts.get(code.id, (0, 0))[1])
        for code in codes
    ]


__all__ = ["OwnerKind", "ReferralLinks", "create_code", "get_code", "new_code",
           "partner_code", "present_codes"]
