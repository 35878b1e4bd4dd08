"""How a webhook delivery is signed (public contract).

Headers:

- ``X-Yutang-Timestamp``: the send time in Unix seconds;
- ``X-Yutang-Signature``: ``sha256=`` + lowercase hex HMAC-SHA256, keyed with the source's
  secret (its UTF-8 bytes), of ``<timestamp>.<raw body>`` — the timestamp's digits, one dot,
  then the request body byte for byte as sent.

A delivery is refused when the signature does not match (compared in constant time), when
the timestamp is more than ``REPLAY_WINDOW_SECONDS`` away from now, and when the same
signature was already accepted (a replay inside the window; outside it the timestamp is
stale anyway).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from yutang.connectors.webhooks.errors import BadSignature, StaleTimestamp

TIMESTAMP_HEADER = "X-Yutang-Timestamp"
SIGNATURE_HEADER = "X-Yutang-Signature"
SIGNATURE_PREFIX = "sha256="
REPLAY_WINDOW_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Yutang-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The headers a sender adds (used by tests, the demo and the documentation)."""
    stamp = str(timestamp)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(secret, stamp, body),
            "Content-Type": "application/json"}


@dataclass(frozen=True)
class Verified:
    signed_at: datetime
    signature: str


def verify(secret: str, *, timestamp: str | None, given: str | None, body: bytes,
           now: datetime, window_seconds: int = REPLAY_WINDOW_SECONDS) -> Verified:
    """Check the signature first (nothing about the request is trusted before), then the
    timestamp's freshness."""
    stamp = (timestamp or "").strip()
    offered = (given or "").strip()
    if not stamp.isdigit() or len(stamp) > 12:
        raise BadSignature(f"{TIMESTAMP_HEADER} must be Unix seconds")
    if not offered.startswith(SIGNATURE_PREFIX):
        raise BadSignature(f"{SIGNATURE_HEADER} must be 'sha256=<hex>'")
    expected = signature(secret, stamp, body)
    if not hmac.compare_digest(expected.encode(), offered.lower().encode()):
        raise BadSignature("the signature does not match")
    signed_at = datetime.fromtimestamp(int(stamp), tz=UTC)
    skew = abs((now - signed_at).total_seconds())
    if skew > window_seconds:
        raise StaleTimestamp(f"the timestamp is {int(skew)} s away from now",
                             window_seconds=window_seconds)
    return Verified(signed_at=signed_at, signature=expected)
