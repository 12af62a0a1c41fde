"""Every API error is JSON: ``{"code": ..., "message": ..., "field"?: ..., "details"?: ...}``.

``code`` is stable and meant for programs; ``message`` is for people and follows the
request's language. Handlers here are installed on the :class:`~ninja.NinjaAPI` so that no
input reaches Django's HTML error pages.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from kapula.core.errors import ActionError

log = logging.getLogger("kapula.api")


def error_response(status: int, code: str, message: str, *, field: str | None = None,
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    response = HttpResponse(json.dumps(body, default=str), status=status,
                            content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _loc(parts: Any) -> str:
    """``("body", "payload", "customer", "email")`` -> ``customer.email``."""
    items = [str(p) for p in (parts or ()) if p not in ("body", "query", "path", "form",
                                                        "file", "header", "payload",
                                                        "filters", "data")]
    return ".".join(items)


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        errors.append({"field": _loc(err.get("loc")), "message": str(err.get("msg", "")),
                       "type": str(err.get("type", ""))})
    first = errors[0]["field"] if errors else None
    return error_response(422, "invalid_input", _("The request has invalid values."),
                          field=first or None, details={"errors": errors})


def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, field=exc.field,
                          details=exc.details or None)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return error_response(401, "unauthorized",
                              _("A valid API token is required (Authorization: Bearer ...)."),
                              headers={"WWW-Authenticate": 'Bearer realm="kapula"'})
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        return error_response(400, "invalid_json", _("The request body is not valid JSON."))
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             409: "conflict", 413: "too_large", 429: "throttled"}
    return error_response(exc.status_code, codes.get(exc.status_code, "error"), str(exc))


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


def _too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(413, "request_too_large", _("The request body is too large."))


def _suspicious(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(400, "bad_request", _("The request could not be understood."))


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API error on %s %s", request.method, request.path)
    return error_response(500, "server_error",
                          _("Something went wrong on our side. The error was logged."))


def install(api: NinjaAPI) -> None:
    api.add_exception_handler(ValidationError, _validation)  # type: ignore[arg-type]
    api.add_exception_handler(ActionError, _action_error)  # type: ignore[arg-type]
    api.add_exception_handler(HttpError, _http_error)  # type: ignore[arg-type]
    api.add_exception_handler(Http404, _not_found)  # type: ignore[arg-type]
    api.add_exception_handler(RequestDataTooBig, _too_big)  # type: ignore[arg-type]
    api.add_exception_handler(SuspiciousOperation, _suspicious)  # type: ignore[arg-type]
    api.add_exception_handler(Exception, _unexpected)  # type: ignore[arg-type]
