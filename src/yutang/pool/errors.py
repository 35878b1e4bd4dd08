from yutang.kit.errors import Conflict, DomainError, InvalidInput, NotFound


class CustomerNotFound(NotFound):
    """Also raised for a customer the caller's store may not see: existence is not revealed."""

    code = "customer_not_found"


class InvalidSearch(InvalidInput):
    code = "invalid_search"


class InvalidConsent(InvalidInput):
    code = "invalid_consent"


class UnknownIdentityKind(InvalidInput):
    code = "unknown_identity_kind"


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    status = 413


class InvalidProfile(InvalidInput):
    code = "invalid_profile"


class InvalidTag(InvalidInput):
    code = "invalid_tag"


class ChannelNotFound(NotFound):
    code = "channel_not_found"


class ChannelCodeNotFound(NotFound):
    code = "channel_code_not_found"


class ChannelCodeTaken(Conflict):
    code = "channel_code_taken"
