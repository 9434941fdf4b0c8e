"""Domain errors: features raise these; entry points map them to HTTP, pages or exit codes."""

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status_code = 404


class Unauthenticated(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Throttled(DomainError):
    status_code = 429


class Invalid(DomainError):
    status_code = 422
