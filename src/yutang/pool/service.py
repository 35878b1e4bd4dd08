"""Use cases of the pool that read customers: search, detail, reveal, export, overview.

Every read goes through ``repository.scoped_customers``: a store manager or staff member
cannot see — or learn of the existence of — another store's customer (404, not 403).
Personal data leaves this module masked, revealed (audited, with a reason) or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, PersonalDataView, Principal
from yutang.kit.clock import SHANGHAI, add_months, month_start, to_local, utcnow
from yutang.kit.crypto import (
    get_protector,
    mask_address,
    mask_birthday,
    mask_name,
    mask_phone,
    normalize_name,
    normalize_phone,
)
from yutang.kit.pagination import PageRequest
from yutang.org import service as org_service
from yutang.pool import graph_repository as graph
from yutang.pool import oneid, repository
from yutang.pool.channel_schemas import AcquisitionRead
from yutang.pool.errors import CustomerNotFound, InvalidConsent, InvalidSearch
from yutang.pool.models import Consent, Customer, Identity, IdentityKind
from yutang.pool.schemas import (
    ConsentRead,
    CustomerDetail,
    CustomerPage,
    CustomerRead,
    IdentityRead,
    MergeRead,
    MonthlyPoint,
    OrderItemRead,
    OrderRead,
    OverviewNumbers,
    TimelineEntry,
)

PERSONAL_FIELDS = ("name", "phone", "gender", "birthday", "address", "nickname")


def pseudonym_of(customer_id: int) -> str:
    return get_protector().pseudonym("customer", customer_id)


def mask_identifier(kind: str, value: str) -> str:
    if kind == IdentityKind.PHONE:
        return mask_phone(value) or ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * 4 + value[-2:]


@dataclass(frozen=True)
class Lookups:
    """Names to show instead of ids: store codes, channel names, usernames."""

    stores: dict[int, str]
    channels: dict[int, str]
    users: dict[int, str]


def lookups(session: Session) -> Lookups:
    return Lookups(
        stores={store.id: store.code for store in org_service.list_stores(session)},
        channels={channel.id: channel.name for channel in repository.all_channels(session)},
        users=access_service.usernames(session),
    )


def present_customer(
    customer: Customer,
    *,
    principal: Principal,
    names: Lookups,
    reveal: bool = False,
) -> CustomerRead:
    store_code = names.stores.get(customer.store_id or -1)
    channel = names.channels.get(customer.acquisition_channel_id or -1)
    acquisition = AcquisitionRead(
        channel=channel, store=store_code,
        staff=names.users.get(customer.acquisition_staff_id or -1),
        code_id=customer.acquisition_code_id, at=customer.acquired_at,
    )
    base = CustomerRead(
        id=customer.id,
        pseudonym=pseudonym_of(customer.id),
        store_id=customer.store_id,
        store_code=store_code,
        acquisition_channel=channel,
        acquired_at=customer.acquired_at,
        acquisition=acquisition,
        personal_data="masked",
    )
    if principal.personal_data_view is PersonalDataView.PSEUDONYMOUS:
        return base.model_copy(update={"id": None, "personal_data": "pseudonymous"})
    if reveal:
        return base.model_copy(
            update={
                "name": customer.name,
                "phone": customer.phone,
                "gender": customer.gender,
                "birthday": customer.birthday,
                "address": customer.address,
                "nickname": customer.nickname,
                "personal_data": "revealed",
            }
        )
    return base.model_copy(
        update={
            "name": mask_name(customer.name),
            "phone": mask_phone(customer.phone),
            "gender": customer.gender,
            "birthday": mask_birthday(customer.birthday),
            "address": mask_address(customer.address),
            "nickname": mask_name(customer.nickname),
        }
    )


def present_for(session: Session, *, principal: Principal, customer: Customer) -> CustomerRead:
    """One customer as ``principal`` may see it (masked, or pseudonymous for analysts)."""
    return present_customer(customer, principal=principal, names=lookups(session))


_DIGITS_ONLY = re.compile(r"^\+?[\d\s-]+$")


def search_customers(
    session: Session,
    *,
    principal: Principal,
    query: str | None = None,
    phone: str | None = None,
    identity_kind: str | None = None,
    identity_value: str | None = None,
    identity_scope: str = "",
    store_id: int | None = None,
    page: PageRequest | None = None,
) -> CustomerPage:
    """Find customers by phone (blind index), exact name (blind index) or id; newest first.

    ``query`` is interpreted: ``#123`` or ``id:123`` is an id, 11 digits a phone, anything else
    a full name. Names and phones are encrypted, so matching is exact, never partial.
    """
    access_service.require(principal, Permission.CUSTOMERS_READ)
    page = page or PageRequest()
    protector = get_protector()
    phone_index: str | None = None
    name_index: str | None = None
    customer_id: int | None = None
    text = (query or "").strip()
    if phone:
        phone_index = protector.blind_index(normalize_phone(phone), "phone")
    elif text:
        if text.startswith("#") or text.lower().startswith("id:"):
            number = text.lstrip("#").removeprefix("id:").removeprefix("ID:").strip()
            if not number.isdigit():
                raise InvalidSearch(f"not a customer id: {text!r}", query=text)
            customer_id = int(number)
        elif _DIGITS_ONLY.match(text) and len(normalize_phone(text)) >= 11:
            phone_index = protector.blind_index(normalize_phone(text), "phone")
        elif text.isdigit():
            customer_id = int(text)
        elif principal.personal_data_view is PersonalDataView.PSEUDONYMOUS:
            raise InvalidSearch("analysts cannot search by personal data")
        else:
            name_index = protector.blind_index(normalize_name(text), "name")
    customer_ids = _holders_of_identity(session, identity_kind, identity_value, identity_scope)
    personal = phone_index is not None or customer_ids is not None
    if personal and principal.personal_data_view is PersonalDataView.PSEUDONYMOUS:
        raise InvalidSearch("analysts cannot search by personal data")
    rows, total = repository.search_customers(
        session,
        principal,
        phone_index=phone_index,
        name_index=name_index,
        customer_id=customer_id,
        customer_ids=customer_ids,
        store_id=store_id,
        limit=page.size,
        offset=page.offset,
    )
    names = lookups(session)
    items = [
        present_customer(row, principal=principal, names=names)
        for row in rows
    ]
    return CustomerPage(items=items, total=total, page=page.page, size=page.size)


def _holders_of_identity(
    session: Session, kind: str | None, value: str | None, scope: str
) -> list[int] | None:
    """The customers carrying one identifier, or None when no identifier was asked for."""
    if kind is None and value is None:
        return None
    if not kind or value is None:
        raise InvalidSearch("give identity_kind and identity_value together")
    (prepared,) = oneid.prepare([oneid.IdentifierInput(kind, value, scope)], oneid.DEFAULT_POLICY)
    node = graph.values_by_key(session, [prepared.key]).get(prepared.key)
    if node is None:
        return []
    return sorted(graph.holders_of(session, [node.id]).get(node.id, set()))


def get_customer(session: Session, *, principal: Principal, customer_id: int) -> Customer:
    """The customer, if this principal may see it; otherwise CustomerNotFound (never 403)."""
    access_service.require(principal, Permission.CUSTOMERS_READ)
    customer = repository.customer_for(session, principal, customer_id)
    if customer is None:
        raise CustomerNotFound(f"no customer {customer_id}", customer_id=customer_id)
    return customer


def customer_detail(
    session: Session,
    *,
    principal: Principal,
    customer_id: int,
    reveal_reason: str | None = None,
) -> CustomerDetail:
    """Everything about one customer; ``reveal_reason`` reveals personal data (audited)."""
    customer = get_customer(session, principal=principal, customer_id=customer_id)
    if principal.personal_data_view is PersonalDataView.PSEUDONYMOUS:
        # Analysts work with aggregates; a single customer's record is personal data.
        raise CustomerNotFound(f"no customer {customer_id}", customer_id=customer_id)
    reveal = False
    if reveal_reason is not None:
        access_service.require(principal, Permission.CUSTOMERS_REVEAL)
        reason = access_service.require_reason(reveal_reason)
        access_service.record_audit(
            session,
            actor=principal,
            action="customer.reveal",
            entity_type="customer",
            entity_id=customer.id,
            store_id=customer.store_id,
            reason=reason,
            details={"fields": list(PERSONAL_FIELDS)},
        )
        reveal = True
    names = lookups(session)
    identities = repository.identities_of(session, customer.id)
    statuses = repository.value_statuses(session, [i.value_id for i in identities if i.value_id])
    consents = repository.consents_of(session, customer.id)
    orders = repository.orders_of(session, customer.id)
    items_by_order: dict[int, list[OrderItemRead]] = {}
    for item in repository.items_of_orders(session, [order.id for order in orders]):
        items_by_order.setdefault(item.order_id, []).append(
            OrderItemRead(
                sku=item.sku,
                quantity=item.quantity,
                unit_price_fen=item.unit_price_fen,
                amount_fen=item.amount_fen,
            )
        )
    order_reads = [
        OrderRead(
            id=order.id,
            source=order.source,
            external_order_id=order.external_order_id,
            status=order.status,
            store_id=order.store_id,
            total_fen=order.total_fen,
            discount_fen=order.discount_fen,
            paid_fen=order.paid_fen,
            ordered_at=order.ordered_at,
            paid_at=order.paid_at,
            completed_at=order.completed_at,
            refunded_at=order.refunded_at,
            closed_at=order.closed_at,
            items=items_by_order.get(order.id, []),
        )
        for order in orders
    ]
    current = current_consent(session, customer=customer)
    return CustomerDetail(
        customer=present_customer(customer, principal=principal, reveal=reveal, names=names),
        identities=[_present_identity(identity, reveal, statuses) for identity in identities],
        consents=[
            ConsentRead(
                channel=consent.channel,
                granted=consent.granted,
                source=consent.source,
                recorded_at=consent.recorded_at,
                recorded_by=consent.recorded_by,
            )
            for consent in consents
        ],
        current_consent=current,
        orders=order_reads,
        tags=[tag.name for tag in repository.tags_of(session, customer.id)],
        timeline=_timeline(session, customer, order_reads, consents),
        merges=[MergeRead.model_validate(entry, from_attributes=True)
                for entry in repository.merges_of(session, customer.id)],
    )


def _present_identity(
    identity: Identity, reveal: bool, statuses: dict[int, tuple[str, str]]
) -> IdentityRead:
    value = identity.value if reveal else mask_identifier(identity.kind, identity.value)
    strength, status = statuses.get(identity.value_id or -1, ("strong", "usable"))
    return IdentityRead(
        id=identity.id,
        status="weak" if strength == "weak" and status == "usable" else status,
        kind=identity.kind,
        scope=identity.scope,
        value=value,
        source=identity.source,
        created_at=identity.created_at,
    )


def _timeline(
    session: Session,
    customer: Customer,
    orders: Sequence[OrderRead],
    consents: Sequence[object],
) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for audit in access_service.entries_about(session, entity_type="customer",
                                              entity_id=str(customer.id)):
        entries.append(
            TimelineEntry(at=audit.at, kind="audit", action=audit.action,
                          actor=audit.actor_name, details={"reason": audit.reason or ""})
        )
    for order in orders:
        for action, moment in (
            ("order.created", order.ordered_at),
            ("order.paid", order.paid_at),
            ("order.completed", order.completed_at),
            ("order.refunded", order.refunded_at),
            ("order.closed", order.closed_at),
        ):
            if moment is not None:
                entries.append(
                    TimelineEntry(at=moment, kind="order", action=action,
                                  details={"order_id": order.id, "paid_fen": order.paid_fen})
                )
    for event in repository.events_of(session, customer.id):
        entries.append(TimelineEntry(at=event.occurred_at, kind="event", action=event.type))
    for consent in repository.consents_of(session, customer.id):
        entries.append(
            TimelineEntry(
                at=consent.recorded_at,
                kind="consent",
                action="consent.granted" if consent.granted else "consent.withdrawn",
                details={"channel": consent.channel, "source": consent.source},
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


EXPORT_COLUMNS = (
    "id", "store_code", "acquisition_channel", "acquired_at", "name", "phone", "gender",
)


def export_customers(
    session: Session,
    *,
    principal: Principal,
    reason: str | None,
    query: str | None = None,
    store_id: int | None = None,
    limit: int = 100_000,
) -> Iterator[list[str]]:
    """Rows for a masked CSV/Excel export of the customers the principal may see (audited)."""
    access_service.require(principal, Permission.CUSTOMERS_EXPORT)
    clean_reason = access_service.require_reason(reason)
    result = search_customers(
        session, principal=principal, query=query, store_id=store_id,
        page=PageRequest(page=1, size=1),
    )
    access_service.record_audit(
        session,
        actor=principal,
        action="customer.export",
        entity_type="customer",
        store_id=principal.store_id,
        reason=clean_reason,
        details={"rows": min(result.total, limit), "query": query or "", "masked": True},
    )
    return _export_rows(session, principal, query, store_id, min(result.total, limit))


def _export_rows(
    session: Session, principal: Principal, query: str | None, store_id: int | None, total: int
) -> Iterator[list[str]]:
    yield list(EXPORT_COLUMNS)
    size = 200
    for page_number in range(1, -(-total // size) + 1):
        page = search_customers(
            session, principal=principal, query=query, store_id=store_id,
            page=PageRequest(page=page_number, size=size),
        )
        for row in page.items:
            yield [
                str(row.id if row.id is not None else row.pseudonym),
                row.store_code or "",
                row.acquisition_channel or "",
                to_local(row.acquired_at).isoformat(timespec="seconds"),
                row.name or "",
                row.phone or "",
                row.gender or "",
            ]


def overview(session: Session, *, principal: Principal, months: int = 24) -> OverviewNumbers:
    """Pool size over time, new customers by channel and GMV by month (Asia/Shanghai months)."""
    access_service.require(principal, Permission.CUSTOMERS_READ)
    now = utcnow()
    first_month = add_months(month_start(to_local(now).date()), -(months - 1))
    since = datetime(first_month.year, first_month.month, 1, tzinfo=SHANGHAI)
    labels = [add_months(first_month, offset).strftime("%Y-%m") for offset in range(months)]
    channel_names = {channel.id: channel.name for channel in repository.all_channels(session)}
    per_channel: dict[str, dict[str, int]] = {}
    new_per_month: dict[str, int] = dict.fromkeys(labels, 0)
    for month, channel_id, count in repository.acquisitions_by_month_and_channel(
        session, principal, since
    ):
        name = channel_names.get(channel_id or -1, "—")
        per_channel.setdefault(name, {})
        per_channel[name][month] = per_channel[name].get(month, 0) + count
        if month in new_per_month:
            new_per_month[month] += count
    running = repository.customers_before(session, principal, since)
    pool_size: list[MonthlyPoint] = []
    for label in labels:
        running += new_per_month[label]
        pool_size.append(MonthlyPoint(month=label, value=running))
    gmv_rows = {month: (gmv, count) for month, gmv, count in
                repository.gmv_by_month(session, principal, since)}
    last_30 = now - timedelta(days=30)
    recent_new = sum(
        count for _, _, count in repository.acquisitions_by_month_and_channel(
            session, principal, last_30)
    )
    recent_gmv = repository.gmv_by_month(session, principal, last_30)
    return OverviewNumbers(
        customers=repository.count_customers(session, principal),
        new_customers_30d=recent_new,
        gmv_fen_30d=sum(gmv for _, gmv, _ in recent_gmv),
        orders_30d=sum(count for _, _, count in recent_gmv),
        pool_size_by_month=pool_size,
        new_customers_by_channel={
            name: [MonthlyPoint(month=label, value=values.get(label, 0)) for label in labels]
            for name, values in sorted(per_channel.items())
        },
        gmv_by_month=[
            MonthlyPoint(month=label, value=gmv_rows.get(label, (0, 0))[0]) for label in labels
        ],
        months=labels,
    )


# --- consent ---------------------------------------------------------------------------------

MARKETING_CHANNELS = frozenset(
    {"wecom", "wechat_group", "official_account", "sms", "mini_program", "app", "email", "phone"}
)


def record_consent(
    session: Session,
    *,
    actor: Principal,
    customer: Customer,
    channel: str,
    granted: bool,
    source: str,
    recorded_at: datetime | None = None,
) -> Consent:
    """Append a consent decision for one marketing channel; the newest decision wins."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    if channel not in MARKETING_CHANNELS:
        raise InvalidConsent(
            f"unknown consent channel {channel!r}", allowed=sorted(MARKETING_CHANNELS)
        )
    if not source.strip():
        raise InvalidConsent("a consent needs its source (where the customer said so)")
    consent = Consent(
        customer_id=customer.id,
        channel=channel,
        granted=granted,
        source=source.strip(),
        recorded_at=recorded_at or utcnow(),
        recorded_by=actor.name,
    )
    session.add(consent)
    session.flush()
    access_service.record_audit(
        session,
        actor=actor,
        action="consent.grant" if granted else "consent.withdraw",
        entity_type="customer",
        entity_id=customer.id,
        store_id=customer.store_id,
        details={"channel": channel, "source": consent.source},
    )
    return consent


def current_consent(session: Session, *, customer: Customer) -> dict[str, bool]:
    decisions: dict[str, bool] = {}
    for consent in repository.consents_of(session, customer.id):
        decisions[consent.channel] = consent.granted
    return decisions


def count_all_customers(session: Session) -> int:
    """Customers in the pool, unscoped (for the system: the demo, health checks)."""
    return repository.count_customers(session, Principal.system())
