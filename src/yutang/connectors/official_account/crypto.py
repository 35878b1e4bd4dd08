"""Official Account signatures and the safe-mode envelope.

- URL and plaintext-mode ``signature``: lowercase hex SHA-1 of token, timestamp and nonce,
  sorted as strings and joined with nothing.
- Safe mode (``encrypt_type=aes``): ``msg_signature`` is SHA-1 of token, timestamp, nonce and
  the ``Encrypt`` text, and the envelope is WeCom's (AES-256-CBC, PKCS#7 to 32 bytes,
  random 16 bytes ‖ length ‖ message ‖ receive id) with the **AppID** as the receive id. The
  cipher of ``connectors.wecom.crypto`` is reused; its errors are translated to ours.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import TypeVar

from yutang.connectors.official_account import errors
from yutang.connectors.wecom import errors as wecom_errors
from yutang.connectors.wecom.crypto import WeComCipher
from yutang.kit.errors import DomainError

T = TypeVar("T")

_TRANSLATED: tuple[tuple[type[DomainError], type[DomainError]], ...] = (
    (wecom_errors.InvalidSignature, errors.InvalidSignature),
    (wecom_errors.DecryptionFailed, errors.DecryptionFailed),
    (wecom_errors.WrongReceiveId, errors.WrongReceiveId),
    (wecom_errors.MalformedCallback, errors.MalformedCallback),
    (wecom_errors.InvalidWeComConfig, errors.InvalidOfficialAccountConfig),
)


def url_signature(token: str, timestamp: str, nonce: str) -> str:
    """``signature`` of the URL check and of plaintext-mode messages."""
    joined = "".join(sorted((token, timestamp, nonce)))
    # SHA-1 is what the protocol specifies; it is not our choice.
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324


def signature_matches(given: str, token: str, timestamp: str, nonce: str) -> bool:
    return hmac.compare_digest(url_signature(token, timestamp, nonce).encode(),
                               given.strip().lower().encode())


def translated(work: Callable[[], T]) -> T:
    """Run ``work`` (WeCom crypto or XML parsing), raising our errors instead of WeCom's."""
    try:
        return work()
    except DomainError as error:
        for theirs, ours in _TRANSLATED:
            if isinstance(error, theirs):
                raise ours(error.message) from error
        raise


def cipher_for(*, token: str, encoding_aes_key: str, app_id: str) -> WeComCipher:
    return translated(lambda: WeComCipher(token=token, encoding_aes_key=encoding_aes_key,
                                          receive_id=app_id))
