"""Test data built through the real services (and the ORM where no service exists yet)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.models import User
from yutang.access.roles import Principal, Role
from yutang.kit.clock import utcnow
from yutang.kit.crypto import get_protector, normalize_name, normalize_phone
from yutang.org import service as org_service
from yutang.org.models import Store
from yutang.org.schemas import StoreCreate
from yutang.pool.models import Customer, Identity, IdentityKind

SYSTEM = Principal.system("tests")
PASSWORD = "correct horse battery"


def make_store(session: Session, code: str, name: str | None = None, city: str = "上海") -> Store:
    return org_service.create_store(
        session, data=StoreCreate(code=code, name=name or f"门店{code}", city=city)
    )


def make_user(
    session: Session, username: str, role: Role, store: Store | None = None,
    password: str = PASSWORD,
) -> User:
    return access_service.create_user(
        session, actor=SYSTEM, username=username, password=password, role=role, store=store
    )


def make_api_key(session: Session, role: Role, store: Store | None = None) -> str:
    return access_service.create_api_key(
        session, actor=SYSTEM, name=f"{role.value} key", role=role, store=store
    ).key


def make_customer(
    session: Session,
    *,
    store: Store | None,
    name: str,
    phone: str,
    acquired_at: datetime | None = None,
) -> Customer:
    protector = get_protector()
    customer = Customer(
        store_id=store.id if store else None,
        name=name,
        name_index=protector.blind_index(normalize_name(name), "name"),
        phone=phone,
        phone_index=protector.blind_index(normalize_phone(phone), "phone"),
        acquired_at=acquired_at or utcnow(),
    )
    session.add(customer)
    session.flush()
    session.add(
        Identity(
            customer_id=customer.id,
            kind=IdentityKind.PHONE.value,
            value=normalize_phone(phone),
            value_index=protector.blind_index(normalize_phone(phone), "phone"),
            source="tests",
        )
    )
    session.flush()
    return customer
