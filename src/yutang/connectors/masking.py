"""How connector secrets are shown: the first three characters, then ``****``."""

from __future__ import annotations


def mask_secret(secret: str) -> str:
    """``S3c****`` for a secret longer than 6 characters, ``****`` otherwise (and for none)."""
    if not secret:
        return ""
    return secret[:3] + "****" if len(secret) > 6 else "****"
