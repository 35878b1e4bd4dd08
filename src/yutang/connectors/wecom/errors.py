"""Expected failures of the WeCom connector, each with a stable code and an HTTP status."""

from __future__ import annotations

from typing import Any

from yutang.kit.errors import DomainError, InvalidInput, NotFound


class CallbackRejected(DomainError):
    """A callback that is refused before anything is written."""

    code = "wecom_callback_rejected"
    status = 403


class InvalidSignature(CallbackRejected):
    code = "wecom_invalid_signature"


class DecryptionFailed(CallbackRejected):
    """The ciphertext does not open with the configured EncodingAESKey."""

    code = "wecom_decryption_failed"


class WrongReceiveId(CallbackRejected):
    """The message was encrypted for another corp (or suite)."""

    code = "wecom_wrong_receive_id"


class StaleTimestamp(CallbackRejected):
    code = "wecom_stale_timestamp"


class MalformedCallback(CallbackRejected):
    code = "wecom_malformed_callback"
    status = 400


class WeComNotConfigured(NotFound):
    code = "wecom_not_configured"


class InvalidWeComConfig(InvalidInput):
    code = "invalid_wecom_config"


class WeComApiError(DomainError):
    """WeCom answered a call with a non-zero ``errcode``."""

    code = "wecom_api_error"
    status = 502

    def __init__(self, errcode: int, errmsg: str, **details: Any) -> None:
        super().__init__(f"WeCom error {errcode}: {errmsg}", errcode=errcode, errmsg=errmsg,
                         **details)
        self.errcode = errcode
        self.errmsg = errmsg


class WeComUnavailable(DomainError):
    """WeCom could not be reached, or kept answering that it is busy."""

    code = "wecom_unavailable"
    status = 503
