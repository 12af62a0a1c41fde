"""``Idempotency-Key`` for POST requests.

The first request with a key runs its action and stores the response in an
:class:`~kapula.core.models.IdempotencyRecord`; a retry with the same key (for the same
user) gets that stored status and body back and changes nothing. The same key with a
different request (method, path or body) is refused with 422 ``idempotency_key_reused``.

The record is inserted *first*, in the same transaction as the action. On PostgreSQL a
concurrent retry therefore blocks on the unique index until the first transaction ends: if
that one committed, the retry replays its response; if it failed, the retry runs normally.
Failed actions (4xx) roll back together with their record, so a corrected retry with the
same key runs again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from kapula.api.errors import error_response
from kapula.core.models import IdempotencyRecord

Result = tuple[int, dict[str, Any]]
HEADER = "Idempotency-Key"

#: documents the header on every POST operation (``openapi_extra=``)
OPENAPI: dict[str, Any] = {"parameters": [{
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Any unique string. A retry with the same key returns the first answer "
                   "and changes nothing; the same key with another request is a 422.",
}]}


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None
                  ) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def fingerprint(request: HttpRequest) -> str:
    """SHA-256 of method, path and body. Multipart bodies are reduced to their fields and
    the SHA-256 of each file, because the boundary changes from one attempt to the next."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        for key in sorted(request.POST.keys()):
            for value in request.POST.getlist(key):
                digest.update(f"{key}={value}\n".encode())
        for key in sorted(request.FILES.keys()):
            for upload in request.FILES.getlist(key):
                h = hashlib.sha256()
                for chunk in upload.chunks():
                    h.update(chunk)
                upload.seek(0)
                digest.update(f"{key}:{upload.name}:{h.hexdigest()}\n".encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, print_: str) -> HttpResponse:
    if record.fingerprint != print_:
        return error_response(
            422, "idempotency_key_reused",
            _("This Idempotency-Key was already used for a different request."),
            field=HEADER)
    return json_response(record.status_code, record.response or {},
                         {"Idempotent-Replayed": "true"})


def run(request: HttpRequest, action: Callable[[], Result],
        headers: Callable[[Result], dict[str, str]] | None = None, *,
        atomic: bool = True) -> HttpResponse:
    """Run ``action`` (which returns status and JSON body) at most once per key.

    ``atomic=False`` says that the action is one atomic action call already, so that
    without a key no outer transaction (and no savepoints inside it) is needed."""
    key = request.headers.get(HEADER)
    if key is None:
        if atomic:
            with transaction.atomic():
                result = action()
        else:
            result = action()
        return json_response(*result, headers(result) if headers else None)
    key = key.strip()
    if not key or len(key) > 255:
        return error_response(422, "invalid_idempotency_key",
                              _("The Idempotency-Key must have 1 to 255 characters."),
                              field=HEADER)
    user = request.auth  # type: ignore[attr-defined]
    print_ = fingerprint(request)
    inserted = False
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(user=user, key=key, fingerprint=print_)
            inserted = True
            result = action()
            record.status_code, record.response = result
            record.save(update_fields=["status_code", "response"])
    except IntegrityError:
        if inserted:
            raise
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is None:  # pragma: no cover - the other attempt rolled back just now
            raise
        return _replay(existing, print_)
    return json_response(*result, headers(result) if headers else None)
