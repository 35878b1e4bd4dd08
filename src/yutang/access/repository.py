from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from yutang.access.models import ApiKey, AuditEntry, ConsoleSession, LoginFailure, User


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def usernames(session: Session) -> dict[int, str]:
    return {int(row[0]): str(row[1]) for row in session.execute(select(User.id, User.username))}


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def api_key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()


def record_api_key_use(session: Session, key_id: int, now: datetime) -> None:
    """Set the key's ``last_used_at``; on PostgreSQL only if no other transaction is doing
    so (``SKIP LOCKED``): the requests of one key that find its last use stale together
    would otherwise queue on its row, each until the one before it commits."""
    target = select(ApiKey.id).where(ApiKey.id == key_id)
    if session.get_bind().dialect.name == "postgresql":
        target = target.with_for_update(skip_locked=True)
    session.execute(update(ApiKey).where(ApiKey.id.in_(target)).values(last_used_at=now),
                    execution_options={"synchronize_session": False})


def console_session(session: Session, token_hash: str) -> ConsoleSession | None:
    return session.get(ConsoleSession, token_hash)


def count_recent_failures(session: Session, username: str, since: datetime) -> int:
    statement = select(func.count(LoginFailure.id)).where(
        LoginFailure.username == username, LoginFailure.failed_at >= since
    )
    return int(session.scalar(statement) or 0)


def latest_failure_at(session: Session, username: str) -> datetime | None:
    return session.scalar(
        select(func.max(LoginFailure.failed_at)).where(LoginFailure.username == username)
    )


def clear_failures(session: Session, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))


def audit_entries(
    session: Session,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    store_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity_type is not None:
        statement = statement.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        statement = statement.where(AuditEntry.entity_id == entity_id)
    if store_id is not None:
        statement = statement.where(AuditEntry.store_id == store_id)
    return session.scalars(statement.limit(limit).offset(offset)).all()


def count_audit_entries(session: Session, *, action: str | None = None) -> int:
    statement = select(func.count(AuditEntry.id))
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    return int(session.scalar(statement) or 0)
