from yutang.kit.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class LoginThrottled(DomainError):
    code = "login_throttled"
    status = 429


class SessionExpired(NotAuthenticated):
    code = "session_expired"


class InvalidApiKey(NotAuthenticated):
    code = "invalid_api_key"


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"


class RoleNotAllowed(PermissionDenied):
    code = "role_not_allowed"


class UsernameTaken(Conflict):
    code = "username_taken"


class InvalidRole(InvalidInput):
    code = "invalid_role"


class StoreRequired(InvalidInput):
    code = "store_required"


class WeakPassword(InvalidInput):
    code = "weak_password"


class ReasonRequired(InvalidInput):
    code = "reason_required"


class UserNotFound(NotFound):
    code = "user_not_found"
