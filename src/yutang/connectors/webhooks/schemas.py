"""Payloads of the webhooks connector."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class SourceRead(BaseModel):
    name: str
    secret: str
    """Masked."""
    is_active: bool
    created_at: datetime


class IssuedSource(BaseModel):
    """A new source and its secret, shown once."""

    name: str
    secret: str


class DeliveryRead(BaseModel):
    id: int
    source: str
    kind: str
    signed_at: datetime
    received_at: datetime
    outcome: str
    records: int
    accepted: int
    updated: int
    duplicates: int
    rejected: int
