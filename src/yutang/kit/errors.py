"""Typed domain errors with a stable code and an HTTP status.

The API renders them as ``{"error": {"code", "message", "details"}}``; the console looks the
code up in the i18n catalog (``error.<code>``) and shows the message in the user's language.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """An expected failure of a use case."""

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.code.replace("_", " ")
        self.details: dict[str, Any] = details
        super().__init__(self.message)

    def as_payload(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it exists."""

    code = "not_found"
    status = 404


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidInput(DomainError):
    """Well-formed input that breaks a rule of the domain."""

    code = "invalid_input"
    status = 422
