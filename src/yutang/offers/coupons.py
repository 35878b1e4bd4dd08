"""Coupons: templates, claims, release, voiding, expiry and welcome offers (redemption
against an order, the hot path, is ``redemption.py``).

Limits change in one conditional statement each: a claim counts itself against the
customer's limit (``claimed + inherited < limit``) and then against the stock (``issued <
stock``); a redemption moves the coupon ``available → redeemed`` only if it still is
available and valid. Everything read before those statements only decides *which* error to
report, or what the coupon is worth — never whether the limit holds.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import ensure_utc, utcnow
from yutang.offers import repository
from yutang.offers.errors import (
    CouponAlreadyRedeemed,
    CouponClaimLimit,
    CouponExpired,
    CouponNotFound,
    CouponNotRedeemed,
    CouponOutOfStock,
    CouponTemplateClosed,
    CouponTemplateNotFound,
    CouponVoided,
    InvalidCouponTemplate,
)
from yutang.offers.lookups import resolve_customer
from yutang.offers.models import (
    ClaimSource,
    Coupon,
    CouponEventKind,
    CouponStatus,
    CouponTemplate,
    TemplateStatus,
    WelcomeTrigger,
)
from yutang.offers.schemas import (
    CouponRead,
    CouponTemplateCreate,
    CouponTemplateRead,
    ScopeIn,
)
from yutang.pool.errors import CustomerNotFound
from yutang.pool.models import Customer

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# --- templates -----------------------------------------------------------------------------


def create_template(session: Session, *, actor: Principal,
                    data: CouponTemplateCreate) -> CouponTemplate:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    stores = repository.store_ids_by_code(session, data.scope.stores)
    channels = repository.channel_ids_by_code(session, data.scope.channels)
    unknown = ([code for code in data.scope.stores if code not in stores]
               + [code for code in data.scope.channels if code not in channels])
    if unknown:
        raise InvalidCouponTemplate(f"unknown store or channel codes: {', '.join(unknown)}",
                                    codes=unknown)
    if data.welcome_trigger is None and data.welcome_code:
        raise InvalidCouponTemplate("welcome_code needs welcome_trigger channel_code")
    rate_bp = None if data.rate is None else int(data.rate * Decimal(10_000))
    template = CouponTemplate(
        name=data.name, kind=data.kind.value, status=TemplateStatus.ACTIVE.value,
        threshold_fen=data.threshold_fen, discount_fen=data.discount_fen or 0, rate_bp=rate_bp,
        cap_fen=data.cap_fen, gift_sku=data.gift_sku, add_on_sku=data.add_on_sku,
        add_on_price_fen=data.add_on_price_fen, bundle_skus=list(data.bundle_skus),
        bundle_price_fen=data.bundle_price_fen, stock=data.stock, issued=0,
        per_customer_limit=data.per_customer_limit,
        valid_from=ensure_utc(data.valid_from) if data.valid_from else None,
        valid_until=ensure_utc(data.valid_until) if data.valid_until else None,
        valid_days=data.valid_days,
        scope={"stores": list(data.scope.stores), "store_ids": sorted(stores.values()),
               "channels": list(data.scope.channels),
               "channel_ids": sorted(channels.values()), "skus": list(data.scope.skus)},
        stacking=data.stacking.value,
        welcome_trigger=data.welcome_trigger.value if data.welcome_trigger else None,
        welcome_code=data.welcome_code, created_by=actor.name, created_at=utcnow(),
    )
    session.add(template)
    session.flush()
    access_service.record_audit(
        session, actor=actor, action="coupon_template.create", entity_type="coupon_template",
        entity_id=template.id, details={"name": template.name, "kind": template.kind,
                                        "stock": template.stock})
    return template


def get_template(session: Session, *, template_id: int) -> CouponTemplate:
    template = repository.template(session, template_id)
    if template is None:
        raise CouponTemplateNotFound(f"no coupon template {template_id}",
                                     template_id=template_id)
    return template


def close_template(session: Session, *, actor: Principal, template_id: int) -> CouponTemplate:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    template = get_template(session, template_id=template_id)
    template.status = TemplateStatus.CLOSED.value
    session.flush()
    access_service.record_audit(
        session, actor=actor, action="coupon_template.close", entity_type="coupon_template",
        entity_id=template.id)
    return template


def present_templates(session: Session,
                      templates: Sequence[CouponTemplate]) -> list[CouponTemplateRead]:
    counts = repository.coupon_counts_by_template(session, [row.id for row in templates])
    return [_present_template(row, counts.get(row.id, {})) for row in templates]


def _present_template(template: CouponTemplate, counts: dict[str, int]) -> CouponTemplateRead:
    scope = template.scope or {}
    return CouponTemplateRead(
        id=template.id, name=template.name, kind=template.kind, status=template.status,
        threshold_fen=template.threshold_fen, discount_fen=template.discount_fen,
        rate=None if template.rate_bp is None else template.rate_bp / 10_000,
        cap_fen=template.cap_fen, gift_sku=template.gift_sku, add_on_sku=template.add_on_sku,
        add_on_price_fen=template.add_on_price_fen, bundle_skus=list(template.bundle_skus),
        bundle_price_fen=template.bundle_price_fen, stock=template.stock,
        issued=template.issued,
        remaining=None if template.stock is None else template.stock - template.issued,
        redeemed=counts.get(CouponStatus.REDEEMED.value, 0),
        per_customer_limit=template.per_customer_limit, valid_from=template.valid_from,
        valid_until=template.valid_until, valid_days=template.valid_days,
        scope=ScopeIn(stores=scope.get("stores", []), channels=scope.get("channels", []),
                      skus=scope.get("skus", [])),
        stacking=template.stacking, welcome_trigger=template.welcome_trigger,
        welcome_code=template.welcome_code, created_at=template.created_at,
    )


# --- claims --------------------------------------------------------------------------------


def claim(
    session: Session,
    *,
    actor: Principal,
    template_id: int,
    customer_id: int,
    source: ClaimSource = ClaimSource.API,
) -> Coupon:
    """Give the customer one coupon of the template: ``coupon_claim_limit`` past the
    per-customer limit, ``coupon_out_of_stock`` when the stock is gone."""
    access_service.require(actor, Permission.OFFERS_OPERATE)
    template = get_template(session, template_id=template_id)
    if template.stock is not None and template.issued >= template.stock:
        raise CouponOutOfStock(f"the coupon template {template_id} is out of stock",
                               template_id=template_id)  # early: ``issued`` only grows
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    return _issue(session, template=template, customer=customer, source=source,
                  actor_name=actor.name)


def _issue(session: Session, *, template: CouponTemplate, customer: Customer,
           source: ClaimSource, actor_name: str) -> Coupon:
    now = utcnow()
    if template.status != TemplateStatus.ACTIVE.value or (
            template.valid_until is not None and template.valid_until <= now):
        raise CouponTemplateClosed(f"the coupon template {template.id} takes no more claims",
                                   template_id=template.id)
    if template.per_customer_limit is not None:
        repository.ensure_claim_counter(session, template_id=template.id,
                                        customer_id=customer.id)
        inherited = repository.inherited_claims(session, template_id=template.id,
                                                customer_id=customer.id)
        counted = repository.count_claim_if_within_limit(
            session, template_id=template.id, customer_id=customer.id,
            limit=template.per_customer_limit, inherited=inherited)
        if counted is None:
            raise CouponClaimLimit(
                f"the customer holds the most coupons of template {template.id} allowed",
                template_id=template.id, limit=template.per_customer_limit)
    # ``issued`` only grows: a template seen without stock has none (an early refusal, not
    # the decision: the conditional UPDATE below decides every claim that gets that far).
    out_of_stock = CouponOutOfStock(f"the coupon template {template.id} is out of stock",
                                    template_id=template.id)
    if template.stock is not None and template.issued >= template.stock:
        raise out_of_stock
    valid_from = max(template.valid_from or now, now)
    valid_until = template.valid_until
    if template.valid_days is not None:
        ends = now + timedelta(days=template.valid_days)
        valid_until = ends if valid_until is None else min(valid_until, ends)
    coupon = Coupon(
        code=new_code(), template_id=template.id, customer_id=customer.id,
        status=CouponStatus.AVAILABLE.value, source=source.value, valid_from=valid_from,
        valid_until=valid_until, claimed_at=now, discount_fen=0,
    )
    session.add(coupon)
    session.flush()
    _event(session, coupon, CouponEventKind.CLAIMED, actor_name, at=now,
           details={"source": source.value})
    # The stock is counted last: the template's row lock (PostgreSQL) is then held only
    # until the commit. Without stock, raising rolls the coupon and its event back.
    if repository.issue_one_if_in_stock(session, template.id) is None:
        raise out_of_stock
    return coupon


# --- redemption, release, voiding, expiry --------------------------------------------------


def get_coupon(session: Session, *, actor: Principal, code: str) -> Coupon:
    """The coupon, if ``actor`` may see its holder (``coupon_not_found`` otherwise)."""
    coupon = repository.coupon_by_code(session, code.strip().upper())
    if coupon is None:
        raise CouponNotFound(f"no coupon {code}", code=code)
    require_holder_visible(session, actor=actor, code=code, customer_id=coupon.customer_id)
    return coupon


def require_holder_visible(session: Session, *, actor: Principal, code: str,
                           customer_id: int) -> None:
    """``coupon_not_found`` unless ``actor`` may see the coupon's holder."""
    if actor.is_store_scoped:  # a merge re-points coupons: the holder is a live customer
        try:
            resolve_customer(session, actor=actor, customer_id=customer_id)
        except CustomerNotFound as error:
            raise CouponNotFound(f"no coupon {code}", code=code) from error
    else:
        access_service.require(actor, Permission.CUSTOMERS_READ)


def raise_unless_available(status: str, valid_until: datetime | None,
                            order_id: int | None, now: datetime) -> None:
    if status == CouponStatus.REDEEMED.value:
        raise CouponAlreadyRedeemed("the coupon was redeemed", order_id=order_id)
    if status == CouponStatus.VOIDED.value:
        raise CouponVoided("the coupon was voided")
    if status == CouponStatus.EXPIRED.value or (valid_until is not None and valid_until <= now):
        raise CouponExpired("the coupon has expired",
                            valid_until=valid_until.isoformat() if valid_until else None)


def release(session: Session, *, actor: Principal, code: str, reason: str = "") -> Coupon:
    """Give a redeemed coupon back (its order was refunded or closed, or by an operator)."""
    access_service.require(actor, Permission.OFFERS_OPERATE)
    coupon = get_coupon(session, actor=actor, code=code)
    if coupon.order_id is None or not _release(session, coupon, actor.name, reason):
        raise CouponNotRedeemed(f"the coupon {coupon.code} is not redeemed", code=coupon.code)
    return coupon


def _release(session: Session, coupon: Coupon, actor_name: str, reason: str) -> bool:
    order_id = coupon.order_id
    assert order_id is not None
    if not repository.release_if_redeemed(session, coupon_id=coupon.id, order_id=order_id):
        return False
    session.refresh(coupon)
    _event(session, coupon, CouponEventKind.RELEASED, actor_name, order_id=order_id,
           details={"reason": reason} if reason else None)
    return True


def release_for_ended_orders(session: Session, *, actor_name: str = "system",
                             order_ids: Collection[int] | None = None) -> int:
    """Release every coupon redeemed on an order since refunded or closed (of ``order_ids``
    only, when given)."""
    released = 0
    for coupon in repository.redeemed_coupons_of_ended_orders(session, order_ids=order_ids):
        released += _release(session, coupon, actor_name, "order_refunded")
    return released


def void(session: Session, *, actor: Principal, code: str, reason: str = "") -> Coupon:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    coupon = get_coupon(session, actor=actor, code=code)
    now = utcnow()
    if not repository.void_if_available(session, coupon_id=coupon.id, now=now):
        status, valid_until, order_id = repository.coupon_state(session, coupon.id)
        raise_unless_available(status, valid_until, order_id, now)
        raise CouponVoided("the coupon was voided")
    session.refresh(coupon)
    _event(session, coupon, CouponEventKind.VOIDED, actor.name, at=now,
           details={"reason": reason} if reason else None)
    return coupon


def expire_coupons(session: Session, *, now: datetime | None = None) -> int:
    moment = now or utcnow()
    expired = repository.expire_available_before(session, moment)
    repository.add_coupon_events(session, [
        {"coupon_id": coupon_id, "kind": CouponEventKind.EXPIRED.value, "at": moment,
         "order_id": None, "discount_fen": 0, "actor_name": "system", "details": {}}
        for coupon_id in expired
    ])
    return len(expired)


def _event(session: Session, coupon: Coupon, kind: CouponEventKind, actor_name: str, *,
           at: datetime | None = None, order_id: int | None = None, discount_fen: int = 0,
           details: dict[str, Any] | None = None) -> None:
    repository.add_coupon_events(session, [{
        "coupon_id": coupon.id, "kind": kind.value, "at": at or utcnow(), "order_id": order_id,
        "discount_fen": discount_fen, "actor_name": actor_name, "details": details or {},
    }])


def present_coupon(coupon: Coupon, template: CouponTemplate) -> CouponRead:
    return CouponRead(
        id=coupon.id, code=coupon.code, template_id=template.id, template_name=template.name,
        kind=template.kind, customer_id=coupon.customer_id, status=coupon.status,
        source=coupon.source, valid_from=coupon.valid_from, valid_until=coupon.valid_until,
        claimed_at=coupon.claimed_at, order_id=coupon.order_id,
        discount_fen=coupon.discount_fen, redeemed_at=coupon.redeemed_at,
    )


def coupons_of(session: Session, *, actor: Principal, customer_id: int) -> list[CouponRead]:
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    return [present_coupon(coupon, template)
            for coupon, template in repository.coupons_of_customer(session, customer.id)]


# --- welcome offers ------------------------------------------------------------------------


def grant_welcome_offer(
    session: Session, *, customer_id: int, trigger: WelcomeTrigger, code_state: str = ""
) -> list[Coupon]:
    """The welcome coupons for a customer who just added staff through a channel code
    (``code_state``) or joined a group: one per matching template, once per customer and
    template, whatever the number of calls. A template out of stock grants nothing (and is
    not tried again for this customer)."""
    row = repository.customer_row(session, customer_id)
    if row is None:
        return []
    customer_id = row.merged_into_id or row.id
    customer = repository.customer_row(session, customer_id)
    assert customer is not None
    granted: list[Coupon] = []
    for template in repository.welcome_templates(session, trigger.value):
        if template.welcome_code and template.welcome_code != code_state:
            continue
        if repository.welcome_granted(session, template_id=template.id,
                                      customer_id=customer_id):
            continue
        grant_id = repository.insert_welcome_grant(session, {
            "grant_key": f"{template.id}:{customer_id}", "template_id": template.id,
            "customer_id": customer_id, "trigger": f"{trigger.value}:{code_state}"[:64],
            "granted_at": utcnow(),
        })
        if grant_id is None:
            continue
        savepoint = session.begin_nested()
        try:
            coupon = _issue(session, template=template, customer=customer,
                            source=ClaimSource.WELCOME, actor_name="welcome")
        except (CouponOutOfStock, CouponClaimLimit, CouponTemplateClosed):
            savepoint.rollback()
            continue
        savepoint.commit()
        repository.set_welcome_coupon(session, grant_id, coupon.id)
        granted.append(coupon)
    return granted


def grant_welcome_offers_since(session: Session, *, since: datetime) -> int:
    """Sweep: welcome coupons for contacts added through a code, and group joins, since
    then (idempotent: each customer gets each welcome template once)."""
    return _grant_welcome(session, repository.contacts_since(session, since),
                          repository.group_joins_since(session, since))


WELCOME_EVENT_TYPES = frozenset({"add_contact", "join_group"})
"""The event types that can earn a welcome offer (a contact through a code, a group join)."""


def grant_welcome_offers_of_events(session: Session, event_ids: Collection[str]) -> int:
    """Welcome coupons for the contacts and group joins these just-stored events recorded."""
    if not event_ids or not repository.has_welcome_templates(session):
        return 0
    return _grant_welcome(session, repository.contacts_of_events(session, event_ids),
                          repository.group_joins_of_events(session, event_ids))


def _grant_welcome(session: Session, contacts: Iterable[tuple[int, str]],
                   group_joins: Iterable[int]) -> int:
    granted = 0
    for customer_id, state in contacts:
        granted += len(grant_welcome_offer(session, customer_id=customer_id,
                                           trigger=WelcomeTrigger.CHANNEL_CODE,
                                           code_state=state))
    for customer_id in group_joins:
        granted += len(grant_welcome_offer(session, customer_id=customer_id,
                                           trigger=WelcomeTrigger.GROUP_JOIN))
    return granted
