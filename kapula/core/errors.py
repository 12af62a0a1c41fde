"""Errors raised by actions. Every one carries a stable machine-readable code.

Views turn them into form errors in the user's language, the API into JSON with an HTTP
4xx status. Nothing that raises one of these has written anything: actions validate first
and run in one transaction.
"""

from __future__ import annotations

from typing import Any


class ActionError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.field = field
        self.details = details or {}


class ValidationFailed(ActionError):
    status = 422
    code = "validation_failed"


class NotFound(ActionError):
    status = 404
    code = "not_found"


class Forbidden(ActionError):
    status = 403
    code = "forbidden"


class Conflict(ActionError):
    status = 409
    code = "conflict"


class TooLarge(ActionError):
    status = 413
    code = "too_large"
