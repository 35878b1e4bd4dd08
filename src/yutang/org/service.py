"""Use cases of the organisation: stores and regions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from yutang.org import repository
from yutang.org.errors import InvalidStore, StoreCodeTaken, StoreNotFound
from yutang.org.models import Region, Store
from yutang.org.schemas import StoreCreate


def create_store(session: Session, *, data: StoreCreate) -> Store:
    """Create a store; the caller writes the audit row (the org knows no actors)."""
    if repository.store_by_code(session, data.code) is not None:
        raise StoreCodeTaken(f"store code {data.code!r} is already used", code=data.code)
    region_id: int | None = None
    if data.region_code:
        region = repository.region_by_code(session, data.region_code)
        if region is None:
            raise InvalidStore(f"unknown region {data.region_code!r}", region=data.region_code)
        region_id = region.id
    store = Store(code=data.code, name=data.name, city=data.city, region_id=region_id)
    session.add(store)
    session.flush()
    return store


def create_region(session: Session, *, code: str, name: str) -> Region:
    region = Region(code=code, name=name)
    session.add(region)
    session.flush()
    return region


def get_store_by_code(session: Session, *, code: str) -> Store:
    store = repository.store_by_code(session, code)
    if store is None:
        raise StoreNotFound(f"no store with code {code!r}", code=code)
    return store


def get_store(session: Session, *, store_id: int) -> Store:
    store = repository.store_by_id(session, store_id)
    if store is None:
        raise StoreNotFound(f"no store with id {store_id}")
    return store


def list_stores(session: Session) -> Sequence[Store]:
    return repository.all_stores(session)
