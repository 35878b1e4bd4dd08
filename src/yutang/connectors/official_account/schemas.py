"""Payloads of the Official Account connector: settings in, masked settings and the log out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel


class AccountConfigIn(BaseModel):
    """An account's server settings (服务器配置); checked by ``service.configure_account``."""

    app_id: str
    token: str
    encoding_aes_key: str = ""
    secret: str
    mode: str | None = None
    """``plaintext``, ``compatible`` or ``safe``; default: safe with an AES key, else plaintext."""


class AccountRead(BaseModel):
    app_id: str
    token: str
    encoding_aes_key: str
    secret: str
    mode: str
    is_active: bool
    updated_at: datetime


class OfficialAccountCallbackRead(BaseModel):
    id: int
    app_id: str
    received_at: datetime
    created_at: datetime
    encrypted: bool
    msg_type: str
    event: str
    scene: str
    outcome: str
    pool_events: int


@dataclass(frozen=True)
class AccountKeys:
    """An account's secrets in clear, for checking callbacks (never shown)."""

    app_id: str
    token: str
    encoding_aes_key: str
    mode: str

    def __repr__(self) -> str:
        return f"AccountKeys(app_id={self.app_id!r})"
