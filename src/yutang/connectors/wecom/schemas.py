"""Payloads of the WeCom connector (settings in, masked settings and the callback log out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel


class CorpConfigIn(BaseModel):
    """A corp's callback and API settings; checked by ``service.configure_corp``."""

    corp_id: str
    token: str
    encoding_aes_key: str
    secret: str
    agent_id: str = ""
    welcome_text: str | None = None


class CorpRead(BaseModel):
    """The settings as anyone may see them: secrets masked."""

    corp_id: str
    agent_id: str
    token: str
    encoding_aes_key: str
    secret: str
    welcome_text: str
    is_active: bool
    updated_at: datetime


class CallbackRead(BaseModel):
    id: int
    corp_id: str
    received_at: datetime
    created_at: datetime
    event: str
    change_type: str
    detail: str
    outcome: str
    pool_events: int


class MassSendResult(BaseModel):
    tasks_created: int
    tasks_skipped: int
    """Parts of the send already created by an earlier run with the same key."""
    targets: int
    failed: int


@dataclass(frozen=True)
class CorpKeys:
    """A corp's secrets in clear, for the callback check and the API client (never shown)."""

    corp_id: str
    agent_id: str
    token: str
    encoding_aes_key: str
    secret: str
    welcome_text: str

    def __repr__(self) -> str:
        return f"CorpKeys(corp_id={self.corp_id!r})"
