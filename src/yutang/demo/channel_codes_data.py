"""The demo merchant's channel codes (活码): one WeCom code per staff member of every store,
a group code and a counter code per store — created through the pool's channel service, so
they are real codes with real ``state`` values that the WeCom simulator can play arrivals on."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yutang.access.roles import Principal, Role
from yutang.demo.plan import PeoplePlan
from yutang.pool import channels
from yutang.pool.channel_schemas import ChannelCodeCreate

STAFF_CODE_TEMPLATES = ("WECOM",)
"""Per-store channels with one code per staff member (customers add that person)."""
STORE_CODE_TEMPLATES = ("GROUP", "STORE")
"""Per-store channels with one code for the whole store."""
CAMPAIGN = "日常引流"


def plant_channel_codes(session: Session, *, people: PeoplePlan, actor: Principal) -> int:
    """Create the codes; returns how many."""
    staff_by_store: dict[int, list[str]] = {}
    for user in people.users:
        if user.role is Role.STAFF and user.store_index is not None:
            staff_by_store.setdefault(user.store_index, []).append(user.username)
    created = 0
    for channel in people.channels:
        if channel.store_index is None:
            continue
        store_code = people.stores[channel.store_index].code
        key = channel.template.key
        if key in STAFF_CODE_TEMPLATES:
            staff: list[str | None] = list(staff_by_store.get(channel.store_index, []))
        elif key in STORE_CODE_TEMPLATES:
            staff = [None]
        else:
            continue
        for username in staff:
            channels.create_code(session, actor=actor, data=ChannelCodeCreate(
                channel_code=channel.code, store_code=store_code, staff_username=username,
                campaign=CAMPAIGN))
            created += 1
    return created
