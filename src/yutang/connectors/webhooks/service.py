"""Webhook use cases: sources and their secrets, and receiving a signed delivery.

A delivery is stored and applied in one transaction: its row (the signature is unique) goes
in first, then the records through the ingestion API's own functions. A replay finds the
row there and is refused; the transaction is then rolled back, so nothing is written.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.connectors.masking import mask_secret
from yutang.connectors.webhooks import repository
from yutang.connectors.webhooks.errors import (
    InvalidWebhookSource,
    Replayed,
    UnknownSource,
    WebhookSourceExists,
)
from yutang.connectors.webhooks.models import (
    DeliveryKind,
    DeliveryOutcome,
    WebhookDelivery,
    WebhookSource,
)
from yutang.connectors.webhooks.schemas import DeliveryRead, IssuedSource, SourceRead
from yutang.connectors.webhooks.signing import Verified
from yutang.kit.clock import utcnow
from yutang.pool import ingestion, order_ingestion
from yutang.pool.ingest_schemas import BatchResult, OrderBatchResult
from yutang.pool.oneid import DEFAULT_POLICY, OneIdPolicy

CONFIGURE_PERMISSION = Permission.API_KEYS_MANAGE
"""A source's secret is an integration credential, like an API key: owners only."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def actor_for(source_name: str) -> Principal:
    """Who acts when a source pushes records: a system principal named after the source."""
    return Principal.system(f"webhook:{source_name}")


def add_source(session: Session, *, actor: Principal, name: str) -> IssuedSource:
    """A new source with a fresh secret (256 bits), returned once and stored encrypted."""
    access_service.require(actor, CONFIGURE_PERMISSION)
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidWebhookSource(
            "a source name is 1 to 32 lowercase letters, digits, '_' or '-'", name=name)
    if repository.source_by_name(session, name) is not None:
        raise WebhookSourceExists(f"the source {name!r} exists", name=name)
    secret = "whsec_" + secrets.token_urlsafe(32)
    source = WebhookSource(name=name, secret=secret, is_active=True)
    session.add(source)
    session.flush()
    access_service.record_audit(session, actor=actor, action="webhook.source.create",
                                entity_type="webhook_source", entity_id=source.id,
                                details={"name": name})
    return IssuedSource(name=name, secret=secret)


def list_sources(session: Session, *, actor: Principal) -> list[SourceRead]:
    access_service.require(actor, CONFIGURE_PERMISSION)
    return [SourceRead(name=source.name, secret=mask_secret(source.secret),
                       is_active=source.is_active, created_at=source.created_at)
            for source in repository.all_sources(session)]


def source_secret(session: Session, name: str) -> str:
    """The active source's secret, for checking a delivery (never shown)."""
    source = repository.source_by_name(session, name)
    if source is None or not source.is_active:
        raise UnknownSource(f"no webhook source {name!r}", source=name)
    return source.secret


def receive(session: Session, *, source_name: str, kind: DeliveryKind, verified: Verified,
            records: Sequence[Any], policy: OneIdPolicy = DEFAULT_POLICY,
            prepared: ingestion.PreparedEvents | None = None,
            ) -> BatchResult | OrderBatchResult:
    """Store the delivery (refusing a replay) and ingest its records as the API would."""
    source = repository.source_by_name(session, source_name)
    if source is None or not source.is_active:
        raise UnknownSource(f"no webhook source {source_name!r}", source=source_name)
    key = hashlib.sha256(f"{source.id}:{verified.signature}".encode()).hexdigest()
    delivery_id = repository.insert_delivery(session, {
        "source_id": source.id, "signature_key": key, "kind": kind.value,
        "signed_at": verified.signed_at, "received_at": utcnow(),
        "outcome": DeliveryOutcome.ACCEPTED.value, "records": len(records), "accepted": 0,
        "updated": 0, "duplicates": 0, "rejected": 0, "details": {},
    })
    if delivery_id is None:
        raise Replayed("this signature was already accepted", source=source_name)
    actor = actor_for(source_name)
    result: BatchResult | OrderBatchResult
    if kind is DeliveryKind.EVENTS:
        batch = prepared or ingestion.prepare_events(records, policy=policy)
        result = ingestion.store_events(session, actor=actor, batch=batch, policy=policy)
    else:
        result = order_ingestion.ingest_orders(session, actor=actor, orders=records,
                                               policy=policy)
    delivery = session.get_one(WebhookDelivery, delivery_id)
    delivery.accepted, delivery.duplicates = result.accepted, result.duplicates
    delivery.rejected = len(result.rejected)
    delivery.updated = getattr(result, "updated", 0)
    if result.rejected:
        delivery.outcome = DeliveryOutcome.PARTLY_REJECTED.value
        delivery.details = {"rejected": [item.model_dump() for item in result.rejected[:50]]}
    session.flush()
    return result


def recent_deliveries(session: Session, *, actor: Principal,
                      limit: int = 100) -> list[DeliveryRead]:
    access_service.require(actor, CONFIGURE_PERMISSION)
    return [DeliveryRead(id=row.id, source=name, kind=row.kind, signed_at=row.signed_at,
                         received_at=row.received_at, outcome=row.outcome, records=row.records,
                         accepted=row.accepted, updated=row.updated,
                         duplicates=row.duplicates, rejected=row.rejected)
            for row, name in repository.recent_deliveries(session, limit)]
