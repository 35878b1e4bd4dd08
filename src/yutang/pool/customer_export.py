"""Export of the pool as JSON lines: one customer per line with profile, identities, first
touch and store; personal values masked unless a role that may reveal asks (audited)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, PersonalDataView, Principal
from yutang.pool import repository, service
from yutang.pool.models import Customer, Identity

PAGE = 1000


def export_lines(session: Session, *, actor: Principal, reveal: bool = False,
                 reason: str | None = None) -> Iterator[dict[str, Any]]:
    """Checked and audited before the first line; then the customers the actor may see."""
    access_service.require(actor, Permission.CUSTOMERS_EXPORT)
    if reveal:
        access_service.require(actor, Permission.CUSTOMERS_REVEAL)
    clean_reason = access_service.require_reason(reason)
    total = repository.count_customers(session, actor)
    access_service.record_audit(
        session, actor=actor, action="customer.export", entity_type="customer",
        store_id=actor.store_id, reason=clean_reason,
        details={"rows": total, "format": "jsonl", "masked": not reveal},
    )
    return _lines(session, actor, reveal)


def _lines(session: Session, actor: Principal, reveal: bool) -> Iterator[dict[str, Any]]:
    names = service.lookups(session)
    pseudonymous = actor.personal_data_view is PersonalDataView.PSEUDONYMOUS
    last_id = 0
    while True:
        customers = session.scalars(
            repository.scoped_customers(actor).where(Customer.id > last_id)
            .order_by(Customer.id).limit(PAGE)
        ).all()
        if not customers:
            return
        identities: dict[int, list[Identity]] = {}
        if not pseudonymous:
            for identity in session.scalars(select(Identity).where(
                    Identity.customer_id.in_([customer.id for customer in customers]))
                    .order_by(Identity.id)):
                identities.setdefault(identity.customer_id, []).append(identity)
        for customer in customers:
            read = service.present_customer(customer, principal=actor, reveal=reveal,
                                            names=names)
            yield {
                "id": read.id,
                "pseudonym": read.pseudonym,
                "store": read.store_code,
                "acquisition": read.acquisition.model_dump(mode="json")
                if read.acquisition else None,
                "profile": {key: getattr(read, key) for key in service.PERSONAL_FIELDS}
                if not pseudonymous else None,
                "identities": [
                    {"kind": identity.kind, "scope": identity.scope,
                     "value": identity.value if reveal
                     else service.mask_identifier(identity.kind, identity.value)}
                    for identity in identities.get(customer.id, [])
                ],
            }
        last_id = customers[-1].id
