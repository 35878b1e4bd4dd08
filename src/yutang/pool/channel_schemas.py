"""Channels, their spend and channel codes (public contract: keep field names)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from yutang.pool.models import ChannelDomain, ChannelKind


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    kind: ChannelKind
    domain: ChannelDomain
    store: str | None = Field(default=None, max_length=32)


class ChannelRead(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    domain: str
    store_code: str | None = None


class SpendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    amount_fen: int = Field(ge=0)


class SpendRead(BaseModel):
    channel_code: str
    period: str
    amount_fen: int


class ChannelCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel_code: str = Field(min_length=1, max_length=64)
    store_code: str = Field(min_length=1, max_length=32)
    staff_username: str | None = Field(default=None, max_length=64)
    campaign: str | None = Field(default=None, max_length=64)


class ChannelCodeRead(BaseModel):
    id: int
    state: str
    url: str
    qr_png_url: str
    qr_svg_url: str
    channel_code: str
    store_code: str | None
    staff_username: str | None
    campaign: str | None
    scans: int = 0
    adds: int = 0
    created_at: datetime


class AcquisitionRead(BaseModel):
    channel: str | None
    store: str | None
    staff: str | None
    code_id: int | None
    at: datetime
