"""Expected failures of the Official Account connector (stable codes, HTTP statuses)."""

from __future__ import annotations

from yutang.kit.errors import DomainError, InvalidInput, NotFound


class OfficialAccountCallbackRejected(DomainError):
    """A callback refused before anything is written."""

    code = "official_account_callback_rejected"
    status = 403


class InvalidSignature(OfficialAccountCallbackRejected):
    code = "official_account_invalid_signature"


class StaleTimestamp(OfficialAccountCallbackRejected):
    code = "official_account_stale_timestamp"


class DecryptionFailed(OfficialAccountCallbackRejected):
    """The ``Encrypt`` text does not open with the account's EncodingAESKey."""

    code = "official_account_decryption_failed"


class WrongReceiveId(OfficialAccountCallbackRejected):
    """The message was encrypted for another AppID."""

    code = "official_account_wrong_receive_id"


class EncryptionRequired(OfficialAccountCallbackRejected):
    """A plaintext body for an account in safe mode."""

    code = "official_account_encryption_required"


class MalformedCallback(OfficialAccountCallbackRejected):
    code = "official_account_malformed_callback"
    status = 400


class OfficialAccountNotConfigured(NotFound):
    code = "official_account_not_configured"


class InvalidOfficialAccountConfig(InvalidInput):
    code = "invalid_official_account_config"
