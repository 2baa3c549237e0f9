"""One error vocabulary: domain errors carry a stable `code`; HTTP is decided once, at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on. `code` is stable and part of the API's error body."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    http_status = 503
