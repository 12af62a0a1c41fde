"""Bearer-token authentication: ``Authorization: Bearer kpl_...``.

Only the SHA-256 of a token is stored, so a token is looked up by its hash in one query
(with the user and organisation joined in, which the handlers need anyway). Revoked tokens
and inactive users are refused. ``last_used_at`` is written at most once a minute per token
(and so is the lookup: a verified token is kept in the process for ``CACHE_SECONDS``, which
is how long a revocation or a deactivated user may take to reach the other processes; in
the process that revokes, it applies at once)
so that the hot path stays a single read.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from kapula.core.models import ApiToken, User, hash_token

TOUCH_EVERY = dt.timedelta(minutes=1)


CACHE_SECONDS = 10.0
_lock = threading.Lock()
_verified: dict[str, tuple[float, ApiToken]] = {}


def forget_token(token_hash: str | None = None) -> None:
    """Drop verified tokens from this process's cache (all when no hash is given)."""
    with _lock:
        if token_hash is None:
            _verified.clear()
        else:
            _verified.pop(token_hash, None)


def _lookup(digest: str) -> ApiToken | None:
    now = time.monotonic()
    hit = _verified.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    rows = list(
        ApiToken.objects.filter(token_hash=digest, revoked_at__isnull=True)
        .select_related("user", "user__organisation", "user__organisation__default_team")
        [:1]  # the hash is unique: LIMIT without ORDER BY
    )
    found = rows[0] if rows else None
    with _lock:
        if found is None or not found.user.is_active:
            _verified.pop(digest, None)
            return None
        if len(_verified) > 10_000:
            _verified.clear()
        _verified[digest] = (now + CACHE_SECONDS, found)
    return found


class ApiTokenAuth(HttpBearer):
    openapi_description = "An API token created with `kapula create_api_token USER`."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        token = token.strip()
        if not token or len(token) > 200:
            return None
        found = _lookup(hash_token(token))
        if found is None:
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
            found.last_used_at = now
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        # Each request gets its own copies: per-request state (the access scope) is cached
        # on the user object and must not leak into other requests.
        user: User = copy.copy(found.user)
        request.user = user
        request.api_token = copy.copy(found)  # type: ignore[attr-defined]
        return user
