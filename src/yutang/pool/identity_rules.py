"""What each identity kind is: strong or weak, scoped or not, how its values are normalised,
and which values are placeholders that must never join two customers.

Strong kinds identify a person: two customer records that share a strong value are one
person. Weak kinds (a device id, by default) are recorded on the customer but never merge
anyone: a shared tablet or a store's front-desk device must not fuse strangers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from yutang.kit.crypto import MAINLAND_MOBILE, normalize_phone
from yutang.pool.models import IdentityKind


class Strength(StrEnum):
    STRONG = "strong"
    WEAK = "weak"


@dataclass(frozen=True)
class KindRule:
    kind: IdentityKind
    strength: Strength
    scoped: bool
    """Values are unique only within a scope (an openid within its appid, an external_userid
    within its WeCom corp); the scope is part of the identity."""


DEFAULT_RULES: dict[IdentityKind, KindRule] = {
    IdentityKind.WECHAT_UNIONID: KindRule(IdentityKind.WECHAT_UNIONID, Strength.STRONG, False),
    IdentityKind.WECHAT_OPENID: KindRule(IdentityKind.WECHAT_OPENID, Strength.STRONG, True),
    IdentityKind.WECOM_EXTERNAL_USERID: KindRule(
        IdentityKind.WECOM_EXTERNAL_USERID, Strength.STRONG, False
    ),
    IdentityKind.PHONE: KindRule(IdentityKind.PHONE, Strength.STRONG, False),
    IdentityKind.MEMBER_CARD: KindRule(IdentityKind.MEMBER_CARD, Strength.STRONG, False),
    IdentityKind.APP_USER_ID: KindRule(IdentityKind.APP_USER_ID, Strength.STRONG, False),
    IdentityKind.TAOBAO_ID: KindRule(IdentityKind.TAOBAO_ID, Strength.STRONG, False),
    IdentityKind.JD_ID: KindRule(IdentityKind.JD_ID, Strength.STRONG, False),
    IdentityKind.DOUYIN_ID: KindRule(IdentityKind.DOUYIN_ID, Strength.STRONG, False),
    IdentityKind.DEVICE_ID: KindRule(IdentityKind.DEVICE_ID, Strength.WEAK, False),
}

PLACEHOLDER_WORDS = frozenset(
    {"", "null", "none", "nil", "undefined", "nan", "n/a", "na", "-", "--", "0", "unknown",
     "test", "default", "匿名", "无", "未知"}
)
PLACEHOLDER_PHONES = frozenset(
    {"13800000000", "13800138000", "13888888888", "13900000000", "12345678901",
     "18888888888", "13333333333", "15555555555", "18000000000"}
)
_SEQUENTIAL = ("0123456789", "1234567890", "9876543210")


class ValueVerdict(StrEnum):
    USABLE = "usable"
    PLACEHOLDER = "placeholder"
    MALFORMED = "malformed"


def normalize_value(kind: IdentityKind, value: str) -> str:
    """The canonical text of a value: what the blind index and comparisons use."""
    text = value.strip()
    if kind is IdentityKind.PHONE:
        return normalize_phone(text)
    if kind in (IdentityKind.MEMBER_CARD, IdentityKind.DEVICE_ID):
        return text.upper()
    return text


def judge_value(kind: IdentityKind, normalized: str) -> ValueVerdict:
    """Placeholders and malformed values are recorded but never used to match anyone."""
    lowered = normalized.lower()
    if lowered in PLACEHOLDER_WORDS or (
        len(lowered) > 1 and lowered.count(lowered[0]) == len(lowered)
    ):
        return ValueVerdict.PLACEHOLDER  # a word for "none", or one character repeated
    if len(lowered) >= 6 and lowered.isdigit() and any(lowered in run for run in _SEQUENTIAL):
        return ValueVerdict.PLACEHOLDER
    if kind is IdentityKind.PHONE:
        if normalized in PLACEHOLDER_PHONES:
            return ValueVerdict.PLACEHOLDER
        if not MAINLAND_MOBILE.match(normalized) and not (8 <= len(normalized) <= 15):
            return ValueVerdict.MALFORMED
        if not normalized.isdigit():
            return ValueVerdict.MALFORMED
    if len(normalized) > 128:
        return ValueVerdict.MALFORMED
    return ValueVerdict.USABLE
