"""Planned customers: when and where they were acquired, who they are, identities, consents."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from yutang.demo.catalog import PLATFORM_KINDS, ChannelPlan, StorePlan, channel_shares
from yutang.demo.draws import (
    DAY_SECONDS,
    HOUR_SECONDS,
    BoolArray,
    IntegerArray,
    choose,
    happens,
    opaque_tokens,
    uniform_integers,
    unique_draws,
)
from yutang.demo.names import (
    CITIES,
    draw_addresses,
    draw_birthdays,
    draw_mobile_numbers,
    draw_names,
)
from yutang.pool.models import Gender, IdentityKind

NO_STORE = -1

# Acquisitions grow over the window: the last day sees this many times the first day's.
ACQUISITION_GROWTH = 4.0
WEEKEND_FACTOR = 1.3
# New customers by hour of the day in Asia/Shanghai (shopping peaks at lunch and after work).
HOURLY_PROFILE = (
    0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.4, 1.0, 1.6, 2.0, 2.6, 3.2,
    3.4, 2.6, 2.2, 2.2, 2.6, 3.4, 4.0, 4.2, 3.8, 3.0, 1.6, 0.6,
)
FEMALE_SHARE = 0.58
GENDER_NOT_COLLECTED_SHARE = 0.15
ADDRESS_SHARE_WITH_STORE = 0.25
ADDRESS_SHARE_WITHOUT_STORE = 0.6
BIRTHDAY_SHARE = 0.35

# Identifiers that only mean something inside an app or a corp carry its id as their scope.
OFFICIAL_ACCOUNT_APPID = "wx5f2e8a1c9b3d7046"
MINI_PROGRAM_APPID = "wx8c1d4f7a2e6b9053"


@dataclass(frozen=True)
class AcquisitionWindow:
    start: int
    """The first instant (local midnight, as UTC seconds)."""
    end: int
    """The observation end: nothing happens at or after it."""

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY_SECONDS


@dataclass(frozen=True)
class CustomerPlan:
    acquired_at: IntegerArray
    channel: IntegerArray
    """Index into the channel plans."""
    store: IntegerArray
    """Index into the store plans, or ``NO_STORE``."""
    channel_keys: tuple[str, ...]
    """The template key (WECOM, TAOBAO, …) of each channel, by channel index."""
    channel_kinds: tuple[str, ...]
    """The kind (wecom, taobao, …) of each channel, by channel index."""
    gender: list[str]
    names: list[str]
    phones: list[str]
    addresses: list[str | None]
    birthdays: list[str | None]

    @property
    def count(self) -> int:
        return len(self.acquired_at)

    def by_acquisition(self, values: Mapping[str, Any], default: Any) -> NDArray[Any]:
        """Per customer, the value for the template key of their acquisition channel."""
        per_channel = np.asarray([values.get(key, default) for key in self.channel_keys])
        by_customer: NDArray[Any] = per_channel[self.channel]
        return by_customer


def draw_acquisition_times(
    rng: np.random.Generator, window: AcquisitionWindow, count: int
) -> IntegerArray:
    """Growing over the window, busier at weekends and at shopping hours; in time order."""
    day = np.arange(window.days)
    growth = np.exp(np.log(ACQUISITION_GROWTH) * day / max(1, window.days - 1))
    weekday = (window.start // DAY_SECONDS + day + 3) % 7  # 1970-01-01 was a Thursday
    day_weight = growth * np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
    chosen_day = choose(rng, day_weight, count)
    hour = choose(rng, HOURLY_PROFILE, count)
    second = rng.integers(0, HOUR_SECONDS, count)
    moments = window.start + chosen_day * DAY_SECONDS + hour * HOUR_SECONDS + second
    ordered: IntegerArray = np.sort(moments)
    return ordered


def plan_customers(
    streams: list[np.random.Generator],
    *,
    count: int,
    window: AcquisitionWindow,
    stores: list[StorePlan],
    channels: list[ChannelPlan],
) -> CustomerPlan:
    """Customers in acquisition order; ``streams`` are independent generators (six)."""
    timing, channel_rng, people, phone_rng, address_rng, birthday_rng = streams
    acquired_at = draw_acquisition_times(timing, window, count)
    channel = choose(channel_rng, channel_shares(channels), count)
    store = _home_stores(channel_rng, channel, stores, channels)
    female = happens(people, FEMALE_SHARE, count)
    genders = np.asarray([Gender.FEMALE.value, Gender.MALE.value, Gender.UNKNOWN.value])
    gender = genders[np.where(female, 0, 1)]
    gender[happens(people, GENDER_NOT_COLLECTED_SHARE, count)] = Gender.UNKNOWN.value
    return CustomerPlan(
        acquired_at=acquired_at,
        channel=channel,
        store=store,
        channel_keys=tuple(plan.template.key for plan in channels),
        channel_kinds=tuple(plan.template.kind.value for plan in channels),
        gender=gender.tolist(),
        names=draw_names(people, female),
        phones=draw_mobile_numbers(phone_rng, count),
        addresses=_addresses(address_rng, store, stores),
        birthdays=_sometimes(birthday_rng, BIRTHDAY_SHARE, count, draw_birthdays),
    )


def _home_stores(
    rng: np.random.Generator,
    channel: IntegerArray,
    stores: list[StorePlan],
    channels: list[ChannelPlan],
) -> IntegerArray:
    """The store of a per-store channel; a store by size for chain-wide private and paid
    channels; none for customers found on a platform."""
    fixed = np.asarray(
        [NO_STORE if plan.store_index is None else plan.store_index for plan in channels]
    )
    on_platform = np.asarray([plan.template.kind in PLATFORM_KINDS for plan in channels])
    store = fixed[channel]
    nearest = choose(rng, [plan.weight for plan in stores], len(channel))
    chain_wide = (store == NO_STORE) & ~on_platform[channel]
    result: IntegerArray = np.where(chain_wide, nearest, store)
    return result


def _addresses(
    rng: np.random.Generator, store: IntegerArray, stores: list[StorePlan]
) -> list[str | None]:
    """Delivery addresses: in the store's city, or anywhere for platform customers."""
    count = len(store)
    has_store = store != NO_STORE
    share = np.where(has_store, ADDRESS_SHARE_WITH_STORE, ADDRESS_SHARE_WITHOUT_STORE)
    wanted = happens(rng, share, count)
    store_city = np.asarray([plan.city_index for plan in stores])
    city = np.where(has_store, store_city[np.maximum(store, 0)],
                    rng.integers(0, len(CITIES), count))
    return _scatter(wanted, draw_addresses(rng, city[wanted]))


def _sometimes(
    rng: np.random.Generator,
    share: float,
    count: int,
    draw: Callable[[np.random.Generator, int], list[str]],
) -> list[str | None]:
    wanted = happens(rng, share, count)
    return _scatter(wanted, draw(rng, int(wanted.sum())))


def _scatter(wanted: BoolArray, values: list[str]) -> list[str | None]:
    """``values`` at the positions where ``wanted`` is true, ``None`` elsewhere."""
    result = np.full(len(wanted), None, dtype=object)
    result[wanted] = values
    scattered: list[str | None] = result.tolist()
    return scattered


# --- identities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentitySpec:
    """Who holds an identity of one kind (and scope): a probability by acquisition channel."""

    kind: IdentityKind
    source: str
    by_acquisition: dict[str, float]
    """Probability of holding it, by acquisition channel template key."""
    otherwise: float
    scope: str = ""
    scope_name: str = ""
    """Tells apart two specs of one kind (the Official Account and mini-program openids)."""


IDENTITY_SPECS: tuple[IdentitySpec, ...] = (
    IdentitySpec(IdentityKind.WECHAT_UNIONID, "wechat",
                 {"WECOM": 0.2, "GROUP": 0.15, "STORE": 0.05, "OA": 0.6, "MINIPROGRAM": 0.6,
                  "REFERRAL": 0.5, "MOMENTS_ADS": 0.5, "DOUYIN_ADS": 0.05, "APP": 0.05}, 0.01),
    IdentitySpec(IdentityKind.WECOM_EXTERNAL_USERID, "wecom", {"WECOM": 1.0}, 0.01),
    IdentitySpec(IdentityKind.WECHAT_OPENID, "mini_program",
                 {"MINIPROGRAM": 1.0, "REFERRAL": 0.5, "MOMENTS_ADS": 0.5, "GROUP": 0.15}, 0.01,
                 scope=MINI_PROGRAM_APPID, scope_name="mini_program"),
    IdentitySpec(IdentityKind.WECHAT_OPENID, "official_account", {"OA": 1.0}, 0.005,
                 scope=OFFICIAL_ACCOUNT_APPID, scope_name="official_account"),
    IdentitySpec(IdentityKind.MEMBER_CARD, "pos", {"STORE": 0.1, "WECOM": 0.03}, 0.0),
    IdentitySpec(IdentityKind.APP_USER_ID, "app", {"APP": 1.0}, 0.003),
    IdentitySpec(IdentityKind.TAOBAO_ID, "taobao", {"TAOBAO": 1.0}, 0.003),
    IdentitySpec(IdentityKind.JD_ID, "jd", {"JD": 1.0}, 0.002),
    IdentitySpec(IdentityKind.DOUYIN_ID, "douyin", {"DOUYIN_SHOP": 1.0, "DOUYIN_ADS": 0.7},
                 0.003),
)


@dataclass(frozen=True)
class IdentityGroup:
    """The identities of one kind and scope: every customer's phone, or those of one spec."""

    name: str
    kind: IdentityKind
    scope: str
    customer: IntegerArray
    values: list[str]
    sources: list[str]
    created_at: IntegerArray

    @property
    def count(self) -> int:
        return len(self.customer)


@dataclass(frozen=True)
class IdentityPlan:
    groups: list[IdentityGroup]
    holders: dict[str, BoolArray]
    """Per group name, which customers hold that identity."""

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups)


@dataclass(frozen=True)
class _ValueFormat:
    prefix: str
    length: int = 0
    """Characters of an opaque token after the prefix; 0 for a number."""
    low: int = 0
    high: int = 0


VALUE_FORMATS: dict[IdentityKind, _ValueFormat] = {
    IdentityKind.WECHAT_UNIONID: _ValueFormat("o", 27),
    IdentityKind.WECHAT_OPENID: _ValueFormat("o", 27),
    IdentityKind.WECOM_EXTERNAL_USERID: _ValueFormat("wm", 30),
    IdentityKind.MEMBER_CARD: _ValueFormat("", low=880_000_000_000, high=890_000_000_000),
    IdentityKind.APP_USER_ID: _ValueFormat("U", low=10_000_000, high=100_000_000),
    IdentityKind.TAOBAO_ID: _ValueFormat("", low=2_200_000_000, high=4_200_000_000),
    IdentityKind.JD_ID: _ValueFormat("jd_", 12),
    IdentityKind.DOUYIN_ID: _ValueFormat("dy", 14),
}


def _identity_values(rng: np.random.Generator, kind: IdentityKind, count: int) -> list[str]:
    form = VALUE_FORMATS[kind]
    if form.length:
        return opaque_tokens(rng, count, prefix=form.prefix, length=form.length)
    numbers = unique_draws(rng, count, uniform_integers(form.low, form.high))
    return [form.prefix + number for number in numbers.astype(str).tolist()]


def group_name(spec: IdentitySpec) -> str:
    return spec.scope_name or spec.kind.value


def plan_identities(
    rng: np.random.Generator, customers: CustomerPlan, window: AcquisitionWindow
) -> IdentityPlan:
    """Every customer's phone, then the identities of each spec for the customers who hold it.

    The identity of the acquisition channel dates from the acquisition; the others were picked
    up later (a customer found on Taobao later follows the Official Account, …).
    """
    count = customers.count
    phone = IdentityGroup(
        name=IdentityKind.PHONE.value,
        kind=IdentityKind.PHONE,
        scope="",
        customer=np.arange(count, dtype=np.int64),
        values=customers.phones,
        sources=np.asarray(customers.channel_kinds)[customers.channel].tolist(),
        created_at=customers.acquired_at,
    )
    groups = [phone]
    holders: dict[str, BoolArray] = {phone.name: np.ones(count, dtype=bool)}
    for spec in IDENTITY_SPECS:
        probability = customers.by_acquisition(spec.by_acquisition, spec.otherwise)
        home = probability == 1.0
        held = happens(rng, probability, count)
        holder = np.flatnonzero(held)
        later = customers.acquired_at[holder] + (
            rng.random(len(holder)) * 0.6 * (window.end - customers.acquired_at[holder])
        ).astype(np.int64)
        groups.append(
            IdentityGroup(
                name=group_name(spec),
                kind=spec.kind,
                scope=spec.scope,
                customer=holder,
                values=_identity_values(rng, spec.kind, len(holder)),
                sources=[spec.source] * len(holder),
                created_at=np.where(home[holder], customers.acquired_at[holder], later),
            )
        )
        holders[group_name(spec)] = held
    return IdentityPlan(groups=groups, holders=holders)


# --- consents --------------------------------------------------------------------------------

CONSENT_SOURCE = "demo"
WITHDRAWAL_SHARE = 0.08
# (consent channel, identity group that makes it possible, share of holders who agree)
CONSENT_RULES: tuple[tuple[str, str, float], ...] = (
    ("wecom", IdentityKind.WECOM_EXTERNAL_USERID.value, 0.6),
    ("official_account", "official_account", 0.5),
    ("mini_program", "mini_program", 0.3),
    ("app", IdentityKind.APP_USER_ID.value, 0.5),
    ("sms", IdentityKind.PHONE.value, 0.03),
)


@dataclass(frozen=True)
class ConsentPlan:
    customer: IntegerArray
    channel: list[str]
    granted: BoolArray
    recorded_at: IntegerArray

    @property
    def count(self) -> int:
        return len(self.customer)


def plan_consents(
    rng: np.random.Generator,
    customers: CustomerPlan,
    identities: IdentityPlan,
    window: AcquisitionWindow,
) -> ConsentPlan:
    """Marketing consents granted at acquisition; a few withdrawn later (append-only)."""
    customer_parts: list[IntegerArray] = []
    channel_parts: list[list[str]] = []
    granted_parts: list[BoolArray] = []
    moment_parts: list[IntegerArray] = []
    for channel, holder_group, share in CONSENT_RULES:
        held = identities.holders[holder_group]
        agreed = np.flatnonzero(held & happens(rng, share, customers.count))
        granted_at = customers.acquired_at[agreed]
        withdrawn = agreed[happens(rng, WITHDRAWAL_SHARE, len(agreed))]
        withdrawn_at = _later(rng, customers.acquired_at[withdrawn], window.end)
        customer_parts += [agreed, withdrawn]
        channel_parts += [[channel] * len(agreed), [channel] * len(withdrawn)]
        granted_parts += [np.ones(len(agreed), bool), np.zeros(len(withdrawn), bool)]
        moment_parts += [granted_at, withdrawn_at]
    return ConsentPlan(
        customer=np.concatenate(customer_parts),
        channel=[channel for part in channel_parts for channel in part],
        granted=np.concatenate(granted_parts),
        recorded_at=np.concatenate(moment_parts),
    )


def _later(rng: np.random.Generator, moments: IntegerArray, end: int) -> IntegerArray:
    """A moment after each of ``moments`` and before ``end``."""
    later: IntegerArray = moments + (rng.random(len(moments)) * (end - 1 - moments)).astype(
        np.int64
    )
    return later
