"""Expected failures of signed webhooks (public contract: keep the codes)."""

from __future__ import annotations

from yutang.kit.errors import Conflict, DomainError, InvalidInput, NotFound


class WebhookRefused(DomainError):
    """A delivery refused before anything is written."""

    code = "webhook_refused"
    status = 401


class BadSignature(WebhookRefused):
    """The signature header is missing, malformed or does not match."""

    code = "bad_signature"


class StaleTimestamp(WebhookRefused):
    """The timestamp header is outside the replay window."""

    code = "stale_timestamp"


class Replayed(Conflict):
    """A signature already accepted inside the window."""

    code = "replayed"


class UnknownSource(NotFound):
    code = "unknown_source"


class WebhookSourceExists(Conflict):
    code = "webhook_source_exists"


class InvalidWebhookSource(InvalidInput):
    code = "invalid_webhook_source"
