"""Official Account use cases: the account's settings (secrets encrypted, shown masked)."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.connectors.masking import mask_secret
from yutang.connectors.official_account import repository
from yutang.connectors.official_account.crypto import cipher_for
from yutang.connectors.official_account.errors import InvalidOfficialAccountConfig
from yutang.connectors.official_account.models import MessageMode, OfficialAccount
from yutang.connectors.official_account.schemas import (
    AccountConfigIn,
    AccountKeys,
    AccountRead,
    OfficialAccountCallbackRead,
)

CONFIGURE_PERMISSION = Permission.API_KEYS_MANAGE
"""Connector secrets are integration credentials, like API keys: owners only."""
_APP_ID = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")


def configure_account(session: Session, *, actor: Principal,
                      data: AccountConfigIn) -> OfficialAccount:
    """Create or replace an account's settings; token, AES key and secret are encrypted."""
    access_service.require(actor, CONFIGURE_PERMISSION)
    app_id, token = data.app_id.strip(), data.token.strip()
    aes_key, secret = data.encoding_aes_key.strip(), data.secret.strip()
    if not _APP_ID.match(app_id):
        raise InvalidOfficialAccountConfig("the AppID is 1 to 32 letters, digits or _")
    if not _TOKEN.match(token):
        raise InvalidOfficialAccountConfig("the token is 3 to 32 letters or digits")
    if not secret:
        raise InvalidOfficialAccountConfig("the AppSecret is required")
    try:
        mode = MessageMode(data.mode or (MessageMode.SAFE if aes_key else MessageMode.PLAINTEXT))
    except ValueError as error:
        raise InvalidOfficialAccountConfig(
            "the mode is plaintext, compatible or safe", mode=data.mode) from error
    if mode is not MessageMode.PLAINTEXT and not aes_key:
        raise InvalidOfficialAccountConfig("the EncodingAESKey is required in this mode")
    if aes_key:
        cipher_for(token=token, encoding_aes_key=aes_key, app_id=app_id)  # checks the key
    account = repository.account_by_app_id(session, app_id)
    action = "official_account.reconfigure" if account else "official_account.configure"
    if account is None:
        account = OfficialAccount(app_id=app_id)
        session.add(account)
    account.token, account.encoding_aes_key, account.secret = token, aes_key, secret
    account.mode = mode.value
    account.is_active = True
    session.flush()
    access_service.record_audit(session, actor=actor, action=action,
                                entity_type="official_account", entity_id=account.id,
                                details={"app_id": app_id, "mode": mode.value})
    return account


def present_account(account: OfficialAccount) -> AccountRead:
    return AccountRead(app_id=account.app_id, token=mask_secret(account.token),
                       encoding_aes_key=mask_secret(account.encoding_aes_key),
                       secret=mask_secret(account.secret), mode=account.mode,
                       is_active=account.is_active, updated_at=account.updated_at)


def list_accounts(session: Session, *, actor: Principal) -> list[AccountRead]:
    access_service.require(actor, CONFIGURE_PERMISSION)
    return [present_account(account) for account in repository.all_accounts(session)]


def active_account_keys(session: Session) -> list[AccountKeys]:
    return [AccountKeys(app_id=account.app_id, token=account.token,
                        encoding_aes_key=account.encoding_aes_key, mode=account.mode)
            for account in repository.active_accounts(session)]


def recent_callbacks(session: Session, *, actor: Principal,
                     limit: int = 100) -> list[OfficialAccountCallbackRead]:
    access_service.require(actor, CONFIGURE_PERMISSION)
    return [OfficialAccountCallbackRead.model_validate(row, from_attributes=True)
            for row in repository.recent_callbacks(session, limit)]
