"""Channels (with kind and domain: public 公域, paid 商域, private 私域), their monthly spend,
channel codes (渠道活码) and attribution: the first touch is the acquisition and never changes;
every later touch is kept; orders carry the last touch before them."""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import segno
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.org import service as org_service
from yutang.org.errors import StoreNotFound
from yutang.pool import channel_repository as repository
from yutang.pool import repository as pool_repository
from yutang.pool.channel_schemas import (
    ChannelCodeCreate,
    ChannelCodeRead,
    ChannelCreate,
    ChannelRead,
    SpendIn,
    SpendRead,
)
from yutang.pool.errors import ChannelCodeNotFound, ChannelCodeTaken, ChannelNotFound
from yutang.pool.models import Channel, ChannelCode, ChannelSpend, Customer, Order, Touch

ATTRIBUTING_EVENTS = frozenset({"scan_code", "add_contact"})
"""Event types whose ``properties.state`` names the channel code that brought the customer."""


def create_channel(session: Session, *, actor: Principal, data: ChannelCreate) -> Channel:
    access_service.require(actor, Permission.CHANNELS_MANAGE)
    if repository.channel_by_code(session, data.code) is not None:
        raise ChannelCodeTaken(f"channel code {data.code!r} is already used", code=data.code)
    store_id = org_service.get_store_by_code(session, code=data.store).id if data.store else None
    channel = Channel(code=data.code, name=data.name, kind=data.kind.value,
                      domain=data.domain.value, store_id=store_id)
    session.add(channel)
    session.flush()
    access_service.record_audit(session, actor=actor, action="channel.create",
                                entity_type="channel", entity_id=channel.id,
                                details={"code": channel.code, "domain": channel.domain})
    return channel


def get_channel(session: Session, code: str) -> Channel:
    channel = repository.channel_by_code(session, code)
    if channel is None:
        raise ChannelNotFound(f"no channel with code {code!r}", code=code)
    return channel


def present_channel(channel: Channel, store_codes: dict[int, str]) -> ChannelRead:
    return ChannelRead(id=channel.id, code=channel.code, name=channel.name, kind=channel.kind,
                       domain=channel.domain,
                       store_code=store_codes.get(channel.store_id or -1))


def record_spend(session: Session, *, actor: Principal, channel_code: str,
                 data: SpendIn) -> SpendRead:
    """Set what the channel cost in a month (a later call for the month replaces it)."""
    access_service.require(actor, Permission.CHANNELS_MANAGE)
    channel = get_channel(session, channel_code)
    month = date(int(data.period[:4]), int(data.period[5:7]), 1)
    spend = repository.spend_of(session, channel.id, month)
    before = spend.amount_fen if spend else None
    if spend is None:
        spend = ChannelSpend(channel_id=channel.id, month=month, amount_fen=data.amount_fen)
        session.add(spend)
    else:
        spend.amount_fen = data.amount_fen
    session.flush()
    access_service.record_audit(session, actor=actor, action="channel.spend",
                                entity_type="channel", entity_id=channel.id,
                                details={"period": data.period, "amount_fen": data.amount_fen,
                                         "before_fen": before})
    return SpendRead(channel_code=channel.code, period=data.period, amount_fen=data.amount_fen)


def create_code(session: Session, *, actor: Principal, data: ChannelCodeCreate) -> ChannelCode:
    access_service.require(actor, Permission.CHANNEL_CODES_MANAGE)
    channel = get_channel(session, data.channel_code)
    store = org_service.get_store_by_code(session, code=data.store_code)
    if actor.is_store_scoped and store.id != actor.store_id:
        raise StoreNotFound(f"no store with code {data.store_code!r}", code=data.store_code)
    staff_id = None
    if data.staff_username:
        staff_id = access_service.get_user_by_username(session, username=data.staff_username).id
    code = ChannelCode(channel_id=channel.id, store_id=store.id, staff_user_id=staff_id,
                       campaign=data.campaign or None, state=_new_state())
    session.add(code)
    session.flush()
    access_service.record_audit(session, actor=actor, action="channel_code.create",
                                entity_type="channel_code", entity_id=code.id,
                                store_id=store.id, details={"state": code.state,
                                                            "channel": channel.code})
    return code


def _new_state() -> str:
    """WeCom's ``state`` holds at most 30 characters; 12 random URL-safe ones are plenty."""
    return "yt" + secrets.token_urlsafe(9)


@dataclass(frozen=True)
class CodeLinks:
    base_url: str

    def landing(self, code: ChannelCode) -> str:
        return f"{self.base_url}/r/{code.state}"

    def png(self, code: ChannelCode) -> str:
        return f"{self.base_url}/api/v1/channel-codes/{code.id}/qr.png"

    def svg(self, code: ChannelCode) -> str:
        return f"{self.base_url}/api/v1/channel-codes/{code.id}/qr.svg"


def present_codes(session: Session, codes: Sequence[ChannelCode],
                  links: CodeLinks) -> list[ChannelCodeRead]:
    stores = {store.id: store.code for store in org_service.list_stores(session)}
    channels = {channel.id: channel.code for channel in _channels(session)}
    users = access_service.usernames(session)
    counts = repository.touch_counts(session)
    return [
        ChannelCodeRead(
            id=code.id, state=code.state, url=links.landing(code), qr_png_url=links.png(code),
            qr_svg_url=links.svg(code), channel_code=channels[code.channel_id],
            store_code=stores.get(code.store_id or -1),
            staff_username=users.get(code.staff_user_id or -1), campaign=code.campaign,
            scans=counts.get((code.id, "scan_code"), 0),
            adds=counts.get((code.id, "add_contact"), 0), created_at=code.created_at,
        )
        for code in codes
    ]


def _channels(session: Session) -> Sequence[Channel]:
    return pool_repository.all_channels(session)


def list_codes(session: Session, *, actor: Principal) -> Sequence[ChannelCode]:
    access_service.require(actor, Permission.STORES_READ)
    return repository.codes(session, actor.store_id if actor.is_store_scoped else None)


def get_code(session: Session, *, actor: Principal, code_id: int) -> ChannelCode:
    code = repository.code_by_id(session, code_id)
    if code is None or (actor.is_store_scoped and code.store_id != actor.store_id):
        raise ChannelCodeNotFound(f"no channel code {code_id}", code_id=code_id)
    return code


def qr_image(content: str, kind: str) -> bytes:
    """The QR code of ``content`` as PNG or SVG bytes."""
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind=kind, scale=8, border=2)
    return buffer.getvalue()


# --- attribution -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """An attributing event, resolved: who, through which code, when."""

    customer_id: int
    state: str
    at: datetime
    kind: str
    event_id: str
    resolved_value_id: int | None


def codes_for_states(session: Session, states: set[str]) -> dict[str, ChannelCode]:
    return repository.codes_by_state(session, states)


def record_touches(session: Session, contacts: Sequence[Contact]) -> int:
    """A touch per contact through a known code; the customer's first sets its acquisition."""
    codes = repository.codes_by_state(session, {contact.state for contact in contacts})
    touches = 0
    for contact in sorted(contacts, key=lambda item: item.at):
        code = codes.get(contact.state)
        if code is None:
            continue
        session.add(Touch(customer_id=contact.customer_id, at=contact.at, kind=contact.kind,
                          channel_id=code.channel_id, store_id=code.store_id,
                          staff_user_id=code.staff_user_id, code_id=code.id,
                          event_id=contact.event_id,
                          resolved_value_id=contact.resolved_value_id))
        touches += 1
        customer = session.get_one(Customer, contact.customer_id)
        if customer.acquisition_code_id is None and customer.acquisition_channel_id is None:
            customer.acquisition_channel_id = code.channel_id
            customer.acquisition_code_id = code.id
            customer.acquisition_staff_id = code.staff_user_id
            if customer.store_id is None:
                customer.store_id = code.store_id
            customer.acquired_at = min(customer.acquired_at, contact.at)
    session.flush()
    return touches


def attribute_order(session: Session, order: Order) -> None:
    """The order carries the customer's last touch before it (and its channel, if none)."""
    if order.customer_id is None:
        return
    touch = repository.last_touch_before(session, order.customer_id, order.ordered_at)
    if touch is not None:
        order.last_touch_id = touch.id
        if order.channel_id is None:
            order.channel_id = touch.channel_id
