"""Passwords, login throttling, console sessions, API keys and role checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import PASSWORD, SYSTEM, make_store, make_user
from yutang.access import service as access_service
from yutang.access.errors import (
    InvalidApiKey,
    RoleNotAllowed,
    SessionExpired,
    StoreRequired,
    UsernameTaken,
    WeakPassword,
)
from yutang.access.models import ApiKey, AuditEntry, ConsoleSession, LoginFailure, User
from yutang.access.roles import ActorKind, Permission, Principal, Role
from yutang.kit.clock import set_now_source

LOCKOUT = timedelta(minutes=15)


def _login(db: Session, username: str, password: str) -> access_service.LoginResult:
    return access_service.attempt_login(
        db, username=username, password=password, client_address="127.0.0.1",
        max_failures=10, lockout=LOCKOUT,
    )


def _freeze(moment: datetime) -> None:
    set_now_source(lambda: moment)


def test_password_is_stored_as_argon2_and_checked(db: Session) -> None:
    store = make_store(db, "A01")
    user = make_user(db, "li_staff", Role.STAFF, store)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert _login(db, "li_staff", PASSWORD).user is not None
    wrong = _login(db, "li_staff", "not the password")
    assert wrong.user is None and wrong.error is not None
    assert wrong.error.code == "invalid_credentials"
    unknown = _login(db, "nobody", PASSWORD)
    assert unknown.error is not None and unknown.error.code == "invalid_credentials"


def test_ten_wrong_passwords_lock_the_username_even_for_the_right_one(db: Session) -> None:
    make_user(db, "owner1", Role.OWNER)
    start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    _freeze(start)
    for _ in range(10):
        assert _login(db, "owner1", "guess").error.code == "invalid_credentials"  # type: ignore[union-attr]
    locked = _login(db, "owner1", PASSWORD)
    assert locked.user is None
    assert locked.error is not None and locked.error.code == "login_throttled"
    assert locked.error.details["retry_after_minutes"] == 16
    # A throttled attempt is not even checked, and does not extend the lock.
    assert db.scalar(select(func.count()).select_from(LoginFailure)) == 10
    _freeze(start + LOCKOUT + timedelta(seconds=1))
    assert _login(db, "owner1", PASSWORD).user is not None
    assert db.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_console_session_expires_when_idle_and_when_ended(db: Session) -> None:
    user = make_user(db, "hq", Role.HQ_OPERATOR)
    start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    _freeze(start)
    opened = access_service.open_console_session(db, user=user, lifetime=timedelta(hours=12))
    record = db.get(ConsoleSession, opened.record.token_hash)
    assert record is not None and opened.token not in record.token_hash
    idle = timedelta(minutes=120)
    _freeze(start + timedelta(minutes=119))
    active = access_service.resume_console_session(db, token=opened.token, idle=idle)
    assert active.principal.role is Role.HQ_OPERATOR
    _freeze(start + timedelta(minutes=119 + 121))
    with pytest.raises(SessionExpired):
        access_service.resume_console_session(db, token=opened.token, idle=idle)
    _freeze(start)
    second = access_service.open_console_session(db, user=user, lifetime=timedelta(hours=12))
    access_service.end_console_session(db, token=second.token)
    with pytest.raises(SessionExpired):
        access_service.resume_console_session(db, token=second.token, idle=idle)
    with pytest.raises(SessionExpired):
        access_service.resume_console_session(db, token="forged", idle=idle)


def test_store_roles_need_a_store_and_names_are_unique(db: Session) -> None:
    with pytest.raises(StoreRequired):
        make_user(db, "floating", Role.STAFF)
    with pytest.raises(WeakPassword):
        make_user(db, "short", Role.OWNER, password="abc")
    make_user(db, "dup", Role.ANALYST)
    with pytest.raises(UsernameTaken):
        make_user(db, "dup", Role.AUDITOR)
    assert db.scalar(select(func.count()).select_from(User)) == 1
    assert db.scalar(
        select(func.count()).where(AuditEntry.action == "user.create")
    ) == 1


def test_only_owners_manage_users_and_keys(db: Session) -> None:
    store = make_store(db, "A01")
    manager = Principal(kind=ActorKind.USER, id=1, name="m", role=Role.STORE_MANAGER,
                        store_id=store.id)
    with pytest.raises(RoleNotAllowed):
        access_service.create_user(db, actor=manager, username="x", password=PASSWORD,
                                   role=Role.STAFF, store=store)
    with pytest.raises(RoleNotAllowed):
        access_service.create_api_key(db, actor=manager, name="k", role=Role.OWNER)
    assert db.scalar(select(func.count()).select_from(ApiKey)) == 0


def test_api_key_is_hashed_and_revocable(db: Session) -> None:
    store = make_store(db, "A01")
    issued = access_service.create_api_key(db, actor=SYSTEM, name="pos", role=Role.STAFF,
                                           store=store)
    assert issued.key.startswith("yt_")
    assert issued.key not in issued.record.secret_hash
    principal = access_service.authenticate_api_key(db, key=issued.key)
    assert principal.role is Role.STAFF and principal.store_id == store.id
    assert principal.can(Permission.CUSTOMERS_READ)
    assert not principal.can(Permission.CUSTOMERS_EXPORT)
    access_service.revoke_api_key(db, actor=SYSTEM, api_key_id=issued.record.id)
    with pytest.raises(InvalidApiKey, match="revoked"):
        access_service.authenticate_api_key(db, key=issued.key)
