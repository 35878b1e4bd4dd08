"""What the console's connectors page shows: every connector's settings (secrets masked) and
the recent log of authentic callbacks and deliveries with their outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.connectors.official_account import service as official_account_service
from yutang.connectors.official_account.schemas import AccountRead
from yutang.connectors.webhooks import service as webhooks_service
from yutang.connectors.webhooks.schemas import SourceRead
from yutang.connectors.wecom import repository as wecom_repository
from yutang.connectors.wecom import service as wecom_service
from yutang.connectors.wecom.schemas import CorpRead

CONFIGURE_PERMISSION = wecom_service.CONFIGURE_PERMISSION


@dataclass(frozen=True)
class Settings:
    wecom: list[CorpRead]
    official_accounts: list[AccountRead]
    webhook_sources: list[SourceRead]


@dataclass(frozen=True)
class LogLine:
    connector: str
    """``wecom``, ``official_account`` or ``webhook``."""
    received_at: datetime
    what: str
    outcome: str
    pool_records: int


def settings(session: Session, *, actor: Principal) -> Settings:
    access_service.require(actor, CONFIGURE_PERMISSION)
    return Settings(
        wecom=[wecom_service.present_corp(corp)
               for corp in wecom_repository.active_corps(session)],
        official_accounts=official_account_service.list_accounts(session, actor=actor),
        webhook_sources=webhooks_service.list_sources(session, actor=actor))


def recent_log(session: Session, *, actor: Principal, limit: int = 50) -> list[LogLine]:
    """The latest callbacks and deliveries of every connector, newest first."""
    lines = [
        LogLine("wecom", row.received_at,
                " ".join(part for part in (row.event, row.change_type, row.detail) if part),
                row.outcome, row.pool_events)
        for row in wecom_service.recent_callbacks(session, actor=actor, limit=limit)]
    lines += [
        LogLine("official_account", row.received_at,
                " ".join(part for part in (row.msg_type, row.event, row.scene) if part),
                row.outcome, row.pool_events)
        for row in official_account_service.recent_callbacks(session, actor=actor, limit=limit)]
    lines += [
        LogLine("webhook", row.received_at, f"{row.source} {row.kind} ×{row.records}",
                row.outcome, row.accepted + row.updated)
        for row in webhooks_service.recent_deliveries(session, actor=actor, limit=limit)]
    lines.sort(key=lambda line: line.received_at, reverse=True)
    return lines[:limit]
