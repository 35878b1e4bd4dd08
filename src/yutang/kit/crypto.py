"""Personal data protection: AES-GCM at rest, HMAC blind indexes, pseudonyms, masking.

One 32-byte master key (``YUTANG_DATA_KEY``, urlsafe base64, or a key file created with 0600
permissions on first use) is stretched with HKDF into independent keys for encryption, for
blind indexes and for pseudonymous ids, so that a leaked index key reveals nothing encrypted.

Ciphertext layout: ``b"\\x01" + nonce(12) + AES-GCM(ciphertext || tag)``; the associated data
names the column (``customer.phone``), so a value copied into another column fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from yutang.kit.errors import DomainError

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12
MASTER_KEY_BYTES = 32


class DataKeyError(DomainError):
    code = "data_key_invalid"
    status = 500


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"yutang-v1", info=purpose).derive(
        master_key
    )


def decode_master_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except ValueError as error:
        raise DataKeyError("YUTANG_DATA_KEY is not urlsafe base64") from error
    if len(raw) != MASTER_KEY_BYTES:
        raise DataKeyError(f"the data key must be {MASTER_KEY_BYTES} bytes, got {len(raw)}")
    return raw


def new_master_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode()


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, creating it with 0600 permissions if it does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(new_master_key_text() + "\n")
    return decode_master_key(path.read_text())


@dataclass(frozen=True)
class DataProtector:
    """Encrypts, indexes and pseudonymises personal data with keys derived from one master key."""

    encryption_key: bytes
    index_key: bytes
    pseudonym_key: bytes

    @classmethod
    def from_master_key(cls, master_key: bytes) -> DataProtector:
        return cls(
            encryption_key=_derive(master_key, b"encryption"),
            index_key=_derive(master_key, b"blind-index"),
            pseudonym_key=_derive(master_key, b"pseudonym"),
        )

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.encryption_key).encrypt(nonce, plaintext.encode(), context.encode())
        return FORMAT_VERSION + nonce + sealed

    def encryptor(self, context: str) -> _BulkEncryptor:
        """A fast encryptor for one column, for bulk loads."""
        return _BulkEncryptor(AESGCM(self.encryption_key), context.encode())

    def decrypt(self, ciphertext: bytes, context: str) -> str:
        if not ciphertext or ciphertext[:1] != FORMAT_VERSION:
            raise DataKeyError("unknown ciphertext format")
        nonce = ciphertext[1 : 1 + NONCE_BYTES]
        try:
            plain = AESGCM(self.encryption_key).decrypt(
                nonce, ciphertext[1 + NONCE_BYTES :], context.encode()
            )
        except InvalidTag as error:
            raise DataKeyError("personal data cannot be decrypted with this key") from error
        return plain.decode()

    def blind_index(self, value: str, kind: str) -> str:
        """A keyed, deterministic lookup token for a normalised value of one kind."""
        return _blind_index(self.index_key, kind, value)

    def pseudonym(self, namespace: str, identifier: int | str) -> str:
        """A stable pseudonymous id (for analysts): no personal data, not reversible."""
        digest = hmac.new(
            self.pseudonym_key, f"{namespace}\x00{identifier}".encode(), hashlib.sha256
        )
        return "p_" + digest.hexdigest()[:16]


@lru_cache(maxsize=65_536)
def _blind_index(index_key: bytes, kind: str, value: str) -> str:
    # Memoised: a pool's active customers send identifier after identifier again (ingestion
    # computes one per identifier of every event); an HMAC costs about twenty cache lookups.
    return hmac.digest(index_key, f"{kind}\x00{value}".encode(), "sha256").hex()[:32]


class _BulkEncryptor:
    def __init__(self, aead: AESGCM, context: bytes) -> None:
        self._aead = aead
        self._context = context

    def __call__(self, plaintext: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), self._context)


_protector: DataProtector | None = None


def configure_protector(protector: DataProtector | None) -> None:
    global _protector
    _protector = protector


def get_protector() -> DataProtector:
    if _protector is None:
        raise DataKeyError("the data protector is not configured")
    return _protector


# --- normalisation ---------------------------------------------------------------------------

_NON_DIGITS = re.compile(r"\D")


def normalize_phone(value: str) -> str:
    """Digits only, without a +86 / 0086 country prefix."""
    digits = _NON_DIGITS.sub("", value)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    return digits


MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def is_mainland_mobile(value: str) -> bool:
    return bool(MAINLAND_MOBILE.match(normalize_phone(value)))


def normalize_name(value: str) -> str:
    return " ".join(value.split())


# --- masking ---------------------------------------------------------------------------------


def mask_phone(value: str | None) -> str | None:
    """``13812341234`` → ``138****1234``."""
    if value is None:
        return None
    digits = normalize_phone(value)
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def mask_name(value: str | None) -> str | None:
    """``张伟`` → ``张*``; ``欧阳娜娜`` → ``欧***``."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return text
    return text[0] + "*" * max(1, len(text) - 1)


def mask_address(value: str | None) -> str | None:
    """Keep the first six characters (province and city), hide the rest."""
    if value is None:
        return None
    return value[:6] + "****" if len(value) > 6 else "****"


def mask_birthday(value: str | None) -> str | None:
    if value is None:
        return None
    return "****-**-**"
