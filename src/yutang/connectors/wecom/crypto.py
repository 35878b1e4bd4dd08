"""WeCom callback crypto (doc 91144, 90968): SHA-1 signatures and AES-256-CBC envelopes.

- Signature: lowercase hex SHA-1 of token, timestamp, nonce and the encrypted text, sorted
  as strings and joined with nothing.
- Key: ``base64decode(EncodingAESKey + "=")`` (43 characters → 32 bytes); the IV is the
  first 16 bytes of the key.
- Plaintext: 16 random bytes ‖ 4-byte big-endian length of the UTF-8 message ‖ message ‖
  receive id (the CorpID for a corp's own app), PKCS#7-padded to a multiple of **32** bytes
  (pad values 1–32), then base64 of the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from yutang.connectors.wecom.errors import (
    DecryptionFailed,
    InvalidSignature,
    InvalidWeComConfig,
    WrongReceiveId,
)

BLOCK_SIZE = 32
"""WeCom pads to 32 bytes, not AES's 16: a stock 16-byte unpadder rejects pads 17–32."""
RANDOM_PREFIX_BYTES = 16
ENCODING_AES_KEY_LENGTH = 43


def aes_key_from(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey."""
    text = encoding_aes_key.strip()
    if len(text) != ENCODING_AES_KEY_LENGTH:
        raise InvalidWeComConfig(
            f"the EncodingAESKey has {ENCODING_AES_KEY_LENGTH} characters, got {len(text)}")
    try:
        key = base64.b64decode(text + "=", validate=True)
    except binascii.Error as error:
        raise InvalidWeComConfig("the EncodingAESKey is not base64") from error
    if len(key) != 32:  # pragma: no cover - 43 valid base64 characters always give 32 bytes
        raise InvalidWeComConfig("the EncodingAESKey does not decode to 32 bytes")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """``msg_signature``: SHA-1 of the four values sorted as strings, joined with nothing."""
    joined = "".join(sorted((token, timestamp, nonce, encrypted)))
    # SHA-1 is what the protocol specifies; it is not our choice.
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324


def pkcs7_pad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    """Pad to a multiple of ``block_size``; an aligned input gets a whole block of padding."""
    count = block_size - len(data) % block_size
    return data + bytes([count]) * count


def pkcs7_unpad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    if not data:
        raise DecryptionFailed("the plaintext is empty")
    count = data[-1]
    if not 1 <= count <= block_size or count > len(data):
        raise DecryptionFailed("the padding is not PKCS#7")
    if data[-count:] != bytes([count]) * count:
        raise DecryptionFailed("the padding is not PKCS#7")
    return data[:-count]


@dataclass(frozen=True)
class WeComCipher:
    """Signs, encrypts and decrypts callback payloads of one corp (or suite)."""

    token: str
    encoding_aes_key: str
    receive_id: str
    key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", aes_key_from(self.encoding_aes_key))

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def verify(self, given: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.sign(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, given.strip().lower()):
            raise InvalidSignature("the msg_signature does not match")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        """The base64 ``Encrypt`` text of ``message`` for this receive id."""
        prefix = random_prefix if random_prefix is not None else os.urandom(RANDOM_PREFIX_BYTES)
        if len(prefix) != RANDOM_PREFIX_BYTES:
            raise ValueError("the random prefix has 16 bytes")
        body = message.encode()
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode()
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
        return base64.b64encode(sealed).decode()

    def decrypt(self, encrypted: str) -> str:
        """The message inside ``encrypted``; refuses garbage and another receive id."""
        try:
            sealed = base64.b64decode(encrypted.strip(), validate=True)
        except (binascii.Error, ValueError) as error:
            raise DecryptionFailed("the encrypted text is not base64") from error
        if not sealed or len(sealed) % 16:
            raise DecryptionFailed("the encrypted text is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(sealed) + decryptor.finalize())
        content = plain[RANDOM_PREFIX_BYTES:]
        if len(content) < 4:
            raise DecryptionFailed("the plaintext is too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise DecryptionFailed("the message length is out of range")
        body, receive_id = content[4 : 4 + length], content[4 + length :]
        try:
            message = body.decode()
            received = receive_id.decode()
        except UnicodeDecodeError as error:
            raise DecryptionFailed("the message is not UTF-8") from error
        if not hmac.compare_digest(received.encode(), self.receive_id.encode()):
            raise WrongReceiveId("the message was encrypted for another receive id")
        return message

    def open(self, given_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Verify the signature, then decrypt."""
        self.verify(given_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)
