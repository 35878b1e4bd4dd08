"""The holdout: a stable share of each campaign's recipients that receives nothing.

A recipient is held out when ``hash(campaign id, recipient id) / P < share``; the hash is
integer arithmetic (a multiply, one xor-shift, a multiply, modulo a prime) that SQLite and
PostgreSQL compute exactly like Python does (no overflow: every product stays under 2^63;
one mixing round only, because SQL repeats a sub-expression wherever it is used), so
planning decides it in SQL and tests can predict it here. The same campaign always holds
out the same customers; another campaign holds out others.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, literal_column

PRIME = 4_294_967_291
"""The largest prime under 2^32."""
_FIRST = 2_654_435_761
_CAMPAIGN = 97_531
_SECOND = 1_597_334_677
BASIS_POINTS = 10_000


def stable_hash(campaign_id: int, recipient_id: int) -> int:
    first = (recipient_id * _FIRST + campaign_id * _CAMPAIGN) % PRIME
    mixed = first ^ (first >> 15)
    return (mixed * _SECOND) % PRIME


def unit_interval(campaign_id: int, recipient_id: int) -> float:
    """The recipient's stable position in [0, 1) for this campaign."""
    return stable_hash(campaign_id, recipient_id) / PRIME


def is_held_out(campaign_id: int, recipient_id: int, basis_points: int) -> bool:
    return stable_hash(campaign_id, recipient_id) * BASIS_POINTS < basis_points * PRIME


def _xor(left: Any, right: Any) -> Any:
    return left.op("|")(right) - left.op("&")(right)  # SQLite has no XOR operator


def held_out_sql(campaign_id: int, recipient: Any, basis_points: int) -> Any:
    """``is_held_out`` as a SQL predicate over the ``recipient`` id expression."""
    prime = literal_column(str(PRIME), BigInteger)
    campaign = bindparam("holdout_campaign", campaign_id, type_=BigInteger)
    first = (recipient * literal_column(str(_FIRST), BigInteger)
             + campaign * literal_column(str(_CAMPAIGN), BigInteger)) % prime
    mixed = _xor(first, first.op(">>")(literal_column("15")))
    final = (mixed * literal_column(str(_SECOND), BigInteger)) % prime
    threshold = bindparam("holdout_threshold", basis_points * PRIME, type_=BigInteger)
    return final * BASIS_POINTS < threshold
