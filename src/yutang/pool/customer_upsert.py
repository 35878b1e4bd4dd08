"""``POST /customers``: a customer as an integrator knows it — found, created or merged by its
identifiers, with profile fields, store and marketing consent applied."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import utcnow
from yutang.kit.crypto import get_protector, normalize_name, normalize_phone
from yutang.kit.errors import DomainError
from yutang.org import service as org_service
from yutang.org.errors import StoreNotFound
from yutang.pool import graph_repository as graph
from yutang.pool import oneid, service
from yutang.pool.errors import InvalidProfile
from yutang.pool.ingest_schemas import CustomerIn
from yutang.pool.ingestion import identifiers_from
from yutang.pool.models import Customer, Gender, IdentityKind
from yutang.pool.oneid import DEFAULT_POLICY, IdentifierInput, OneIdPolicy, Trigger

PROFILE_KEYS = frozenset({"name", "phone", "gender", "birthday", "address", "nickname"})
_BIRTHDAY = re.compile(r"^(\d{4}-)?\d{2}-\d{2}$")


@dataclass(frozen=True)
class Upserted:
    customer: Customer
    created: bool
    merged_customer_ids: list[int]
    changed: bool
    """Anything new: the customer, an identifier, a profile field, the store or a consent."""


@dataclass
class _Prepared:
    data: CustomerIn
    profile: dict[str, str | None]
    identifiers: list[IdentifierInput]
    record: oneid.RecordToResolve


def upsert_customer(session: Session, *, actor: Principal, data: CustomerIn,
                    policy: OneIdPolicy = DEFAULT_POLICY) -> Upserted:
    """One customer (``POST /customers``); a bad profile or store raises."""
    result = upsert_customers(session, actor=actor, items=[data], policy=policy)[0]
    if isinstance(result, DomainError):
        raise result
    return result


def upsert_customers(session: Session, *, actor: Principal, items: Sequence[CustomerIn],
                     policy: OneIdPolicy = DEFAULT_POLICY) -> list[Upserted | DomainError]:
    """Many customers resolved through OneID at once (an import chunk): per item, what
    became of it, or the error that kept it out (nothing of it is written)."""
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    results: list[Upserted | DomainError | None] = [None] * len(items)
    prepared: dict[int, _Prepared] = {}
    stores: dict[str | None, int | None] = {}
    trigger = Trigger("customer", "api", actor)
    for position, data in enumerate(items):
        try:
            prepared[position] = _prepare(session, actor, data, policy, trigger, stores)
        except DomainError as error:
            results[position] = error
    known = graph.values_by_key(session, {value.key for item in prepared.values()
                                          for value in item.record.prepared})
    new_identifier = {position: any(value.key not in known for value in item.record.prepared)
                      for position, item in prepared.items()}
    oneid.resolve_many(session, [item.record for item in prepared.values()], policy)
    for position, item in prepared.items():
        results[position] = _apply(session, actor, item, new_identifier[position])
    return [result for result in results if result is not None]


def _prepare(session: Session, actor: Principal, data: CustomerIn, policy: OneIdPolicy,
             trigger: Trigger, stores: dict[str | None, int | None]) -> _Prepared:
    profile = _clean_profile(data.profile)
    identifiers = identifiers_from(data.identities)
    if profile.get("phone") and "phone" not in data.identities:
        identifiers.append(IdentifierInput(IdentityKind.PHONE.value, profile["phone"] or ""))
    if not identifiers:
        raise InvalidProfile("a customer needs at least one identifier", field="identities")
    if data.store not in stores:
        stores[data.store] = _store_id(session, actor, data.store)
    record = oneid.RecordToResolve(
        prepared=oneid.prepare(identifiers, policy), seen_at=data.acquired_at or utcnow(),
        trigger=trigger, store_id=stores[data.store], create_without_strong=True)
    return _Prepared(data=data, profile=profile, identifiers=identifiers, record=record)


def _apply(session: Session, actor: Principal, item: _Prepared, new_identifier: bool) -> Upserted:
    """The profile, store, audit row and consents of one resolved item."""
    record, profile, identifiers = item.record, dict(item.profile), item.identifiers
    customer = session.get(Customer, record.customer_id) if record.customer_id else None
    assert customer is not None
    phone = next((i.value for i in identifiers if i.kind == IdentityKind.PHONE.value), None)
    if phone and not profile.get("phone") and customer.phone is None:
        profile["phone"] = phone  # the phone a customer is known by is their profile phone
    store_changed = customer.store_id is None and record.store_id is not None
    if store_changed:
        customer.store_id = record.store_id
    changed_fields = _apply_profile(customer, profile)
    changed = bool(record.created or record.merged_customer_ids or new_identifier
                   or store_changed or changed_fields)
    if changed:
        session.flush()
        access_service.record_audit(
            session, actor=actor, action="customer.create" if record.created
            else "customer.update", entity_type="customer", entity_id=customer.id,
            store_id=customer.store_id,
            details={"fields": changed_fields, "merged": record.merged_customer_ids,
                     "identities": sorted({identifier.kind for identifier in identifiers})},
        )
    if item.data.consent:
        current = service.current_consent(session, customer=customer)
        for channel, granted in sorted(item.data.consent.items()):
            if current.get(channel) is not granted:
                service.record_consent(session, actor=actor, customer=customer,
                                       channel=channel, granted=granted, source="api")
                changed = True
    return Upserted(customer=customer, created=record.created,
                    merged_customer_ids=record.merged_customer_ids, changed=changed)


def _clean_profile(profile: dict[str, str | None]) -> dict[str, str | None]:
    unknown = sorted(set(profile) - PROFILE_KEYS)
    if unknown:
        raise InvalidProfile(f"unknown profile fields: {', '.join(unknown)}", fields=unknown)
    cleaned = {key: (value.strip() if isinstance(value, str) else None)
               for key, value in profile.items()}
    gender = cleaned.get("gender")
    if gender is not None and gender not in {item.value for item in Gender}:
        raise InvalidProfile("gender is female, male or unknown", field="gender")
    birthday = cleaned.get("birthday")
    if birthday and not _BIRTHDAY.match(birthday):
        raise InvalidProfile("birthday is YYYY-MM-DD or MM-DD", field="birthday")
    return {key: value for key, value in cleaned.items() if value}


def _store_id(session: Session, actor: Principal, code: str | None) -> int | None:
    if code is None:
        return actor.store_id
    store = org_service.get_store_by_code(session, code=code)
    if actor.is_store_scoped and store.id != actor.store_id:
        raise StoreNotFound(f"no store with code {code!r}", code=code)
    return store.id


def _apply_profile(customer: Customer, profile: dict[str, str | None]) -> list[str]:
    """Set the given fields; returns the names of those that changed."""
    protector = get_protector()
    changed: list[str] = []
    for key, raw in sorted(profile.items()):
        value = normalize_phone(raw) if key == "phone" and raw else raw
        if getattr(customer, key) == value:
            continue
        changed.append(key)
        setattr(customer, key, value)
        if key == "name" and value:
            customer.name_index = protector.blind_index(normalize_name(value), "name")
        elif key == "phone" and value:
            customer.phone_index = protector.blind_index(value, "phone")
    return changed
