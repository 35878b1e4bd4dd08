"""What an operator or integrator does to customers: detach an identity (unmerge) and tag."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.errors import NotFound
from yutang.kit.pagination import PageRequest
from yutang.pool import oneid, repository, service
from yutang.pool.errors import CustomerNotFound, InvalidTag
from yutang.pool.models import CustomerTag, Tag

MAX_BULK_TAG = 100_000


class IdentityNotFound(NotFound):
    code = "identity_not_found"


def detach_identity(session: Session, *, actor: Principal, customer_id: int, identity_id: int,
                    reason: str | None) -> list[int]:
    """Unmerge: the identity stops linking and the customer splits around it (audited)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    customer = service.get_customer(session, principal=actor, customer_id=customer_id)
    clean_reason = access_service.require_reason(reason)
    identity = repository.identity_of(session, customer.id, identity_id)
    if identity is None:
        raise IdentityNotFound(f"customer {customer_id} has no identity {identity_id}",
                               identity_id=identity_id)
    results = oneid.detach_identity(session, actor=actor, customer=customer, identity=identity,
                                    reason=clean_reason)
    return [result.id for result in results]


def _tag(session: Session, name: str) -> Tag:
    clean = name.strip()
    if not 1 <= len(clean) <= 64:
        raise InvalidTag("a tag has 1 to 64 characters", tag=name)
    tag = repository.tag_by_name(session, clean)
    if tag is None:
        tag = Tag(name=clean, category="manual")
        session.add(tag)
        session.flush()
    return tag


def tag_customers(session: Session, *, actor: Principal, customer_ids: list[int],
                  tag_name: str, source: str = "manual") -> int:
    """Put a tag on customers the actor may see; returns how many newly got it."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    tag = _tag(session, tag_name)
    found = repository.visible_customer_ids(session, actor, customer_ids)
    unseen = [customer_id for customer_id in customer_ids if customer_id not in found]
    if unseen:  # as for one customer: what the actor may not see does not exist for them
        raise CustomerNotFound(f"no customer {unseen[0]}", customer_id=unseen[0])
    visible = list(customer_ids)
    already = repository.tagged_customers(session, tag.id, visible)
    fresh = [customer_id for customer_id in dict.fromkeys(visible) if customer_id not in already]
    session.add_all(CustomerTag(customer_id=customer_id, tag_id=tag.id, source=source)
                    for customer_id in fresh)
    session.flush()
    access_service.record_audit(
        session, actor=actor, action="customer.tag", entity_type="tag", entity_id=tag.id,
        store_id=actor.store_id, details={"tag": tag.name, "customers": len(fresh)},
    )
    return len(fresh)


def tag_search_results(session: Session, *, actor: Principal, query: str | None,
                       tag_name: str) -> int:
    """Bulk tagging: the tag goes on every customer the search finds (within the scope)."""
    ids: list[int] = []
    page_number = 1
    while len(ids) < MAX_BULK_TAG:
        page = service.search_customers(session, principal=actor, query=query,
                                        page=PageRequest(page=page_number, size=200))
        ids.extend(item.id for item in page.items if item.id is not None)
        if page_number * 200 >= page.total:
            break
        page_number += 1
    return tag_customers(session, actor=actor, customer_ids=ids, tag_name=tag_name)
