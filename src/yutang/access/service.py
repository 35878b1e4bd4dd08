"""Use cases of access: users, passwords, API keys, console sessions, audit, authorization."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from yutang.access import repository
from yutang.access.errors import (
    InvalidApiKey,
    InvalidCredentials,
    InvalidRole,
    LoginThrottled,
    ReasonRequired,
    RoleNotAllowed,
    SessionExpired,
    StoreRequired,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from yutang.access.models import ApiKey, AuditEntry, ConsoleSession, LoginFailure, User
from yutang.access.roles import STORE_ROLES, ActorKind, Permission, Principal, Role
from yutang.kit.clock import ensure_utc, utcnow
from yutang.org import service as org_service
from yutang.org.models import Store
from yutang.org.schemas import StoreCreate

MIN_PASSWORD_LENGTH = 8
API_KEY_PREFIX = "yt"
LAST_USE_PRECISION = timedelta(minutes=1)
"""How stale an API key's ``last_used_at`` may be (plus ``API_KEY_TRUST_SECONDS``)."""
API_KEY_TRUST_SECONDS = 5.0
"""How long a process trusts an API key it has verified without reading it again: a key
revoked in this process is refused at once, one revoked elsewhere (the CLI, another server
process) within this delay."""
_MAX_TRUSTED_KEYS = 10_000

_password_hasher = PasswordHasher()


# --- authorization -----------------------------------------------------------------------------


def require(principal: Principal, permission: Permission) -> None:
    """Refuse a principal whose role lacks ``permission``."""
    if not principal.can(permission):
        raise RoleNotAllowed(
            f"the role {principal.role.value!r} may not {permission.value}",
            role=principal.role.value,
            permission=permission.value,
        )


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as error:
        allowed = ", ".join(role.value for role in Role)
        raise InvalidRole(f"unknown role {value!r}; use one of: {allowed}", role=value) from error


def _check_store_for_role(role: Role, store: Store | None) -> int | None:
    if role in STORE_ROLES:
        if store is None:
            raise StoreRequired(f"a {role.value} must belong to a store", role=role.value)
        return store.id
    return store.id if store is not None else None


# --- audit -------------------------------------------------------------------------------------


def record_audit(
    session: Session,
    *,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: str | int | None = None,
    store_id: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit row in the caller's transaction."""
    entry = AuditEntry(
        at=utcnow(),
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=actor.role.value,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        store_id=store_id,
        reason=reason,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def require_reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if len(cleaned) < 2:
        raise ReasonRequired("say why you need to see or export personal data")
    return cleaned


def list_audit(
    session: Session,
    *,
    actor: Principal,
    entity_type: str | None = None,
    entity_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[AuditEntry]:
    require(actor, Permission.AUDIT_READ)
    return repository.audit_entries(
        session, entity_type=entity_type, entity_id=entity_id, limit=limit, offset=offset
    )


def create_store(session: Session, *, actor: Principal, data: StoreCreate) -> Store:
    """Open a store on behalf of ``actor`` (needs ``stores.manage``), audited."""
    require(actor, Permission.STORES_MANAGE)
    store = org_service.create_store(session, data=data)
    record_audit(
        session, actor=actor, action="store.create", entity_type="store",
        entity_id=store.id, store_id=store.id, details={"code": store.code},
    )
    return store


# --- users and passwords ---------------------------------------------------------------------


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _password_hasher.hash(password)


def create_user(
    session: Session,
    *,
    actor: Principal,
    username: str,
    password: str,
    role: Role,
    store: Store | None = None,
    display_name: str = "",
    wecom_userid: str | None = None,
) -> User:
    require(actor, Permission.USERS_MANAGE)
    username = username.strip()
    if not username:
        raise InvalidCredentials("a username is required")
    if repository.user_by_username(session, username) is not None:
        raise UsernameTaken(f"the username {username!r} is taken", username=username)
    store_id = _check_store_for_role(role, store)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role.value,
        store_id=store_id,
        wecom_userid=wecom_userid or username,
    )
    session.add(user)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        store_id=store_id,
        details={"username": username, "role": role.value},
    )
    return user


def get_user_by_username(session: Session, *, username: str) -> User:
    user = repository.user_by_username(session, username.strip())
    if user is None:
        raise UserNotFound(f"no user {username!r}", username=username)
    return user


def usernames(session: Session) -> dict[int, str]:
    """user id → username, for showing who did something."""
    return repository.usernames(session)


def principal_for_user(user: User) -> Principal:
    return Principal(
        kind=ActorKind.USER,
        id=user.id,
        name=user.username,
        role=Role(user.role),
        store_id=user.store_id,
    )


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt; failures are returned, not raised, so they persist."""

    user: User | None
    error: InvalidCredentials | LoginThrottled | None


def attempt_login(
    session: Session,
    *,
    username: str,
    password: str,
    client_address: str,
    max_failures: int,
    lockout: timedelta,
) -> LoginResult:
    """Check a password with throttling: ``max_failures`` failures in ``lockout`` lock the name."""
    now = utcnow()
    username = username.strip()
    failures = repository.count_recent_failures(session, username, now - lockout)
    if failures >= max_failures:
        last = repository.latest_failure_at(session, username) or now
        retry_minutes = max(1, int((last + lockout - now).total_seconds() // 60) + 1)
        return LoginResult(
            user=None,
            error=LoginThrottled(
                f"too many failed logins; try again in {retry_minutes} minutes",
                retry_after_minutes=retry_minutes,
            ),
        )
    user = repository.user_by_username(session, username)
    if user is None or not user.is_active or not _verify_password(user, password):
        session.add(LoginFailure(username=username, client_address=client_address, failed_at=now))
        session.flush()
        return LoginResult(user=None, error=InvalidCredentials("wrong username or password"))
    repository.clear_failures(session, username)
    user.last_login_at = now
    if _password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _password_hasher.hash(password)
    session.flush()
    return LoginResult(user=user, error=None)


def _verify_password(user: User, password: str) -> bool:
    try:
        return _password_hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- console sessions --------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    token: str
    record: ConsoleSession


def open_console_session(session: Session, *, user: User, lifetime: timedelta) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    record = ConsoleSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    session.flush()
    record_audit(
        session,
        actor=principal_for_user(user),
        action="user.login",
        entity_type="user",
        entity_id=user.id,
        store_id=user.store_id,
    )
    return OpenedSession(token=token, record=record)


@dataclass(frozen=True)
class ActiveSession:
    user: User
    principal: Principal
    record: ConsoleSession


def resume_console_session(session: Session, *, token: str, idle: timedelta) -> ActiveSession:
    """The user behind a session cookie; raises SessionExpired for unknown, ended or stale ones."""
    record = repository.console_session(session, _token_hash(token))
    if record is None:
        raise SessionExpired("please log in")
    now = utcnow()
    if record.ended_at is not None or record.expires_at <= now or record.last_seen_at + idle <= now:
        raise SessionExpired("your session has expired; please log in again")
    user = repository.user_by_id(session, record.user_id)
    if user is None or not user.is_active:
        raise SessionExpired("please log in")
    record.last_seen_at = now
    return ActiveSession(user=user, principal=principal_for_user(user), record=record)


def end_console_session(session: Session, *, token: str) -> None:
    record = repository.console_session(session, _token_hash(token))
    if record is not None and record.ended_at is None:
        record.ended_at = utcnow()
        session.flush()


def csrf_token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


# --- API keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedApiKey:
    key: str
    record: ApiKey


def create_api_key(
    session: Session, *, actor: Principal, name: str, role: Role, store: Store | None = None
) -> IssuedApiKey:
    """Create a key; the full key is returned once and never stored."""
    require(actor, Permission.API_KEYS_MANAGE)
    store_id = _check_store_for_role(role, store)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    record = ApiKey(
        name=name.strip() or prefix,
        prefix=prefix,
        secret_hash=hashlib.sha256(key.encode()).hexdigest(),
        role=role.value,
        store_id=store_id,
    )
    session.add(record)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="api_key.create",
        entity_type="api_key",
        entity_id=record.id,
        store_id=store_id,
        details={"name": record.name, "role": role.value, "prefix": prefix},
    )
    return IssuedApiKey(key=key, record=record)


_trust_clock = time.monotonic
_trusted_keys: dict[str, tuple[float, Principal]] = {}
"""SHA-256 of a verified key → (monotonic deadline, its principal): an API request then
costs no query for its key (see ``API_KEY_TRUST_SECONDS``)."""


def authenticate_api_key(session: Session, *, key: str) -> Principal:
    stripped = key.strip()
    expected = hashlib.sha256(stripped.encode()).hexdigest()
    trusted = _trusted_keys.get(expected)
    if trusted is not None and trusted[0] > _trust_clock():
        return trusted[1]  # the full hash matched a key verified moments ago
    parts = stripped.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        raise InvalidApiKey("the API key is malformed")
    record = repository.api_key_by_prefix(session, parts[1])
    if record is None or not hmac.compare_digest(record.secret_hash, expected):
        raise InvalidApiKey("the API key is not valid")
    if record.revoked_at is not None:
        raise InvalidApiKey("the API key has been revoked")
    now = utcnow()
    if record.last_used_at is None or now - ensure_utc(record.last_used_at) > LAST_USE_PRECISION:
        # Not on every request: concurrent requests of one key would queue on its row.
        repository.record_api_key_use(session, record.id, now)
    principal = Principal(
        kind=ActorKind.API_KEY,
        id=record.id,
        name=record.name,
        role=Role(record.role),
        store_id=record.store_id,
    )
    if len(_trusted_keys) >= _MAX_TRUSTED_KEYS:
        _trusted_keys.clear()
    _trusted_keys[expected] = (_trust_clock() + API_KEY_TRUST_SECONDS, principal)
    return principal


def revoke_api_key(session: Session, *, actor: Principal, api_key_id: int) -> None:
    require(actor, Permission.API_KEYS_MANAGE)
    record = session.get(ApiKey, api_key_id)
    if record is None:
        raise InvalidApiKey("no such API key")
    record.revoked_at = utcnow()
    _trusted_keys.pop(record.secret_hash, None)  # refused at once in this process
    record_audit(session, actor=actor, action="api_key.revoke", entity_type="api_key",
                 entity_id=api_key_id)


def entries_about(session: Session, *, entity_type: str, entity_id: str) -> Sequence[AuditEntry]:
    """Audit rows about one entity (for timelines); the caller has already checked access."""
    return repository.audit_entries(session, entity_type=entity_type, entity_id=entity_id)
