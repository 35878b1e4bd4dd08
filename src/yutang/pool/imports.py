"""Bulk import of customers, orders, events and identities from files, through the same
services as the API: good rows go in, bad rows are listed with their line and reason, and
importing the same file again changes nothing."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from yutang.access.roles import Principal
from yutang.kit.clock import ensure_utc, utcnow
from yutang.kit.db import run_in_transaction
from yutang.kit.errors import DomainError
from yutang.pool import customer_upsert, ingestion, oneid, order_ingestion
from yutang.pool import graph_repository as graph
from yutang.pool.import_files import SourceRow
from yutang.pool.ingest_schemas import CustomerIn, Rejection
from yutang.pool.models import IdentityKind
from yutang.pool.oneid import OneIdPolicy, RecordToResolve, Trigger

CHUNK = 500
IDENTITY_COLUMNS = frozenset(kind.value for kind in IdentityKind)
SCOPE_COLUMNS = ("wechat_openid_scope", "appid")
TIME_COLUMNS = ("occurred_at", "ordered_at", "paid_at", "completed_at", "refunded_at",
                "closed_at", "acquired_at")
MONEY_COLUMNS = ("total_fen", "discount_fen", "paid_fen")
PROFILE_COLUMNS = ("name", "gender", "birthday", "address", "nickname")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "是", "同意"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "否", "拒绝"})

Progress = Callable[[int, int], None]


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    ORDERS = "orders"
    EVENTS = "events"
    IDENTITIES = "identities"


@dataclass
class ImportSummary:
    kind: ImportKind
    rows: int = 0
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, code, message) of each row that did not go in."""

    def add(self, other: ImportSummary) -> None:
        self.accepted += other.accepted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)

    def write_rejects(self, path: Path) -> None:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "code", "message"])
            writer.writerows(sorted(self.rejected))


def import_rows(
    factory: sessionmaker[Session],
    *,
    actor: Principal,
    kind: ImportKind,
    rows: Sequence[SourceRow],
    policy: OneIdPolicy,
    progress: Progress | None = None,
) -> ImportSummary:
    summary = ImportSummary(kind=kind, rows=len(rows))
    readable: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        if row.data is None:
            summary.rejected.append((row.line, "unreadable_row", row.error))
        else:
            readable.append((row.line, to_payload(kind, row.data)))
    done = len(rows) - len(readable)
    importer = _IMPORTERS[kind]
    for start in range(0, len(readable), CHUNK):
        chunk = readable[start:start + CHUNK]

        def work(session: Session,
                 chunk: Sequence[tuple[int, dict[str, Any]]] = chunk) -> ImportSummary:
            partial = ImportSummary(kind=kind)  # counted afresh if the chunk is re-run
            importer(session, actor, chunk, policy, partial)
            return partial

        summary.add(run_in_transaction(factory, work))
        done += len(chunk)
        if progress is not None:
            progress(done, len(rows))
    return summary


# --- flat rows (CSV, XLSX) to the API's payloads ---------------------------------------------


def to_payload(kind: ImportKind, data: dict[str, Any]) -> dict[str, Any]:
    """A JSONL line in the API's shape passes as it is; a flat row is reshaped."""
    if "identities" in data:
        return data
    flat = {key: value for key, value in data.items() if value not in (None, "")}
    payload: dict[str, Any] = {"identities": _identities(flat)}
    rest = {key: value for key, value in flat.items()
            if key not in IDENTITY_COLUMNS and key not in SCOPE_COLUMNS}
    for column in TIME_COLUMNS:
        if column in rest:
            rest[column] = _with_zone(str(rest[column]))
    if kind is ImportKind.CUSTOMERS:
        payload["profile"] = {key: rest.pop(key) for key in PROFILE_COLUMNS if key in rest}
        if "phone" in flat:
            payload["profile"]["phone"] = flat["phone"]
        payload["consent"] = {key.removeprefix("consent_"): _flag(rest.pop(key))
                              for key in list(rest) if key.startswith("consent_")}
        payload.update(rest)
    elif kind is ImportKind.ORDERS:
        for column in MONEY_COLUMNS:
            if column in rest:
                rest[column] = _integer(rest[column])
        if "items" in rest:
            rest["items"] = _json(rest["items"])
        payload.update(rest)
    elif kind is ImportKind.EVENTS:
        known = {"event_id", "type", "occurred_at", "store"}
        properties = _json(rest.pop("properties")) if "properties" in rest else {}
        if isinstance(properties, dict):
            properties.update({key: value for key, value in rest.items() if key not in known})
        payload.update({key: value for key, value in rest.items() if key in known})
        payload["properties"] = properties
    return payload


def _identities(flat: dict[str, Any]) -> dict[str, Any]:
    scope = next((str(flat[column]) for column in SCOPE_COLUMNS if column in flat), "")
    identities: dict[str, Any] = {}
    for key, value in flat.items():
        if key in IDENTITY_COLUMNS:
            identities[key] = ({"value": str(value), "scope": scope}
                               if key == IdentityKind.WECHAT_OPENID and scope else str(value))
    return identities


def _with_zone(text: str) -> str:
    """Times without an offset are the merchant's local time (Asia/Shanghai)."""
    text = text.strip().replace(" ", "T", 1) if "T" not in text else text.strip()
    if len(text) == 10:
        text += "T00:00:00"
    tail = text[10:]
    if text.endswith("Z") or "+" in tail or "-" in tail:
        return text
    return text + "+08:00"


def _integer(value: Any) -> Any:
    try:
        return int(str(value).replace(",", ""))
    except ValueError:
        return value  # the schema reports it


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # the schema reports it


def _flag(value: Any) -> Any:
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return value


# --- one chunk of each kind, in one transaction ------------------------------------------


def _reject(summary: ImportSummary, lines: Sequence[int],
            rejections: Sequence[Rejection]) -> None:
    summary.rejected.extend((lines[item.index], item.code, item.message) for item in rejections)


def _events(session: Session, actor: Principal, chunk: Sequence[tuple[int, dict[str, Any]]],
            policy: OneIdPolicy, summary: ImportSummary) -> None:
    result = ingestion.ingest_events(session, actor=actor, events=[row for _, row in chunk],
                                     policy=policy)
    summary.accepted += result.accepted
    summary.unchanged += result.duplicates
    _reject(summary, [line for line, _ in chunk], result.rejected)


def _orders(session: Session, actor: Principal, chunk: Sequence[tuple[int, dict[str, Any]]],
            policy: OneIdPolicy, summary: ImportSummary) -> None:
    result = order_ingestion.ingest_orders(session, actor=actor,
                                           orders=[row for _, row in chunk], policy=policy)
    summary.accepted += result.accepted
    summary.updated += result.updated
    summary.unchanged += result.duplicates
    _reject(summary, [line for line, _ in chunk], result.rejected)


def _customers(session: Session, actor: Principal, chunk: Sequence[tuple[int, dict[str, Any]]],
               policy: OneIdPolicy, summary: ImportSummary) -> None:
    """The chunk's valid rows upserted together (one OneID pass); a row whose profile or
    store is refused is listed and leaves nothing behind."""
    lines: list[int] = []
    items: list[CustomerIn] = []
    for line, row in chunk:
        try:
            items.append(CustomerIn.model_validate(row))
        except ValidationError as error:
            summary.rejected.append((line, "invalid_customer",
                                     ingestion.validation_message(error)))
            continue
        lines.append(line)
    results = customer_upsert.upsert_customers(session, actor=actor, items=items, policy=policy)
    for line, result in zip(lines, results, strict=True):
        if isinstance(result, DomainError):
            summary.rejected.append((line, result.code, result.message))
        elif result.created:
            summary.accepted += 1
        elif result.changed:
            summary.updated += 1
        else:
            summary.unchanged += 1


def _identities_chunk(session: Session, actor: Principal,
                      chunk: Sequence[tuple[int, dict[str, Any]]], policy: OneIdPolicy,
                      summary: ImportSummary) -> None:
    records: list[RecordToResolve] = []
    for line, row in chunk:
        identities = row.get("identities")
        if not isinstance(identities, dict) or not identities:
            summary.rejected.append((line, "identities_required", "no identity columns"))
            continue
        try:
            prepared = oneid.prepare(ingestion.identifiers_from(identities), policy)
        except DomainError as error:
            summary.rejected.append((line, error.code, error.message))
            continue
        records.append(RecordToResolve(prepared=prepared, seen_at=_seen_at(row),
                                       trigger=Trigger("import", f"line {line}", actor),
                                       create_without_strong=True))
    known_before = _known_values(session, records)
    oneid.resolve_many(session, records, policy)
    for record in records:
        if record.created or record.merged_customer_ids:
            summary.accepted += 1
        elif all(value.key in known_before for value in record.prepared):
            summary.unchanged += 1
        else:
            summary.updated += 1


def _seen_at(row: dict[str, Any]) -> datetime:
    moment = row.get("seen_at")
    if isinstance(moment, str):
        try:
            return ensure_utc(datetime.fromisoformat(_with_zone(moment)))
        except ValueError:
            pass
    return utcnow()


def _known_values(session: Session, records: Sequence[RecordToResolve]) -> set[Any]:
    keys = {value.key for record in records for value in record.prepared}
    return set(graph.values_by_key(session, keys))


_IMPORTERS = {
    ImportKind.EVENTS: _events,
    ImportKind.ORDERS: _orders,
    ImportKind.CUSTOMERS: _customers,
    ImportKind.IDENTITIES: _identities_chunk,
}
