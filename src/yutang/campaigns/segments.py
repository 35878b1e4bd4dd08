"""Saved segments: validated rule trees, live counts and a masked preview.

A segment is evaluated as ONE set-based statement over the operational database
(``segment_rules.audience_statement``): the rule compiles to a predicate over ``customer``
with ``EXISTS`` sub-queries for tags, orders, groups and consent. Why the operational
database and not DuckDB over the analytics extracts: campaigns plan against the same rows
they then write (deliveries, caps, consent), in the same transaction; an extract can be
hours old — a customer who opted out since would still be selected. See
docs/domains/campaigns.md for the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import PersonalDataView, Principal
from yutang.campaigns import policy
from yutang.campaigns.errors import SegmentNameTaken, SegmentNotFound
from yutang.campaigns.models import Segment
from yutang.campaigns.schemas import PreviewCustomer, SegmentIn, SegmentPreview, SegmentRead
from yutang.campaigns.segment_rules import audience_statement, validate_rule
from yutang.kit.clock import utcnow
from yutang.pool import service as pool_service
from yutang.pool.models import Customer

PREVIEW_LIMIT = 20


def present(segment: Segment) -> SegmentRead:
    return SegmentRead(id=segment.id, name=segment.name, description=segment.description,
                       rule=segment.rule, count=segment.last_count,
                       counted_at=segment.last_counted_at)


def _scope(principal: Principal) -> int | None:
    return principal.store_id if principal.is_store_scoped else None


def count_rule(session: Session, *, actor: Principal, rule: Any) -> int:
    """How many customers the rule selects now (store-scoped for store roles)."""
    access_service.require(actor, policy.READ)
    return _count(session, actor=actor, rule=rule)


def _count(session: Session, *, actor: Principal, rule: Any) -> int:
    audience = audience_statement(rule, now=utcnow(), store_id=_scope(actor)).subquery()
    return int(session.scalar(select(func.count()).select_from(audience)) or 0)


def create_segment(session: Session, *, actor: Principal, data: SegmentIn) -> Segment:
    access_service.require(actor, policy.MANAGE)
    validate_rule(data.rule, now=utcnow())
    segment = Segment(name=data.name.strip(), description=data.description.strip(),
                      rule=data.rule, created_by=actor.name)
    try:
        with session.begin_nested():
            session.add(segment)
            session.flush()
    except IntegrityError as error:
        raise SegmentNameTaken(f"a segment named {data.name!r} exists",
                               name=data.name) from error
    access_service.record_audit(session, actor=actor, action="segment.create",
                                entity_type="campaign_segment", entity_id=segment.id,
                                details={"rule": data.rule})
    return segment


def update_segment(session: Session, *, actor: Principal, segment_id: int,
                   data: SegmentIn) -> Segment:
    access_service.require(actor, policy.MANAGE)
    segment = get_segment(session, segment_id=segment_id)
    validate_rule(data.rule, now=utcnow())
    segment.name = data.name.strip()
    segment.description = data.description.strip()
    segment.rule = data.rule
    segment.updated_at = utcnow()
    segment.last_count = None
    session.flush()
    access_service.record_audit(session, actor=actor, action="segment.update",
                                entity_type="campaign_segment", entity_id=segment.id,
                                details={"rule": data.rule})
    return segment


def get_segment(session: Session, *, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise SegmentNotFound(f"no segment {segment_id}", segment_id=segment_id)
    return segment


def list_segments(session: Session, *, actor: Principal) -> Sequence[Segment]:
    access_service.require(actor, policy.READ)
    return session.scalars(select(Segment).order_by(Segment.id.desc())).all()


def refresh_count(session: Session, *, actor: Principal, segment_id: int) -> Segment:
    """Count the segment live and keep the figure (with its time) on the segment."""
    segment = get_segment(session, segment_id=segment_id)
    segment.last_count = count_rule(session, actor=actor, rule=segment.rule)
    segment.last_counted_at = utcnow()
    session.flush()
    return segment


def preview_rule(session: Session, *, actor: Principal, rule: Any,
                 limit: int = PREVIEW_LIMIT) -> SegmentPreview:
    """The count and the first ``limit`` customers (newest first), masked as the viewer sees
    customers everywhere (``pool.service.present_customer``): masked, or pseudonymous."""
    access_service.require(actor, policy.PREVIEW_CUSTOMERS)
    count = _count(session, actor=actor, rule=rule)
    statement = audience_statement(rule, now=utcnow(), store_id=_scope(actor))
    ids = list(session.scalars(statement.order_by(Customer.id.desc()).limit(max(1, limit))))
    customers = session.scalars(select(Customer).where(Customer.id.in_(ids))
                                .order_by(Customer.id.desc())).all() if ids else []
    names = pool_service.lookups(session)
    rows: list[PreviewCustomer] = []
    for customer in customers:
        shown = pool_service.present_customer(customer, principal=actor, names=names)
        rows.append(PreviewCustomer(id=shown.id, pseudonym=shown.pseudonym, name=shown.name,
                                    phone=shown.phone, store_code=shown.store_code,
                                    value_tier=customer.value_tier,
                                    lifecycle_stage=customer.lifecycle_stage))
    view = actor.personal_data_view
    return SegmentPreview(count=count, customers=rows,
                          personal_data="pseudonymous"
                          if view is PersonalDataView.PSEUDONYMOUS else "masked")
