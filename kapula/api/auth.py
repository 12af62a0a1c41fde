"""Bearer-token authentication: ``Authorization: Bearer kpl_...``.

Only the SHA-256 of a token is stored, so a token is looked up by its hash in one query
(with the user and organisation joined in, which the handlers need anyway). Revoked tokens
and inactive users are refused. ``last_used_at`` is written at most once a minute per token
so that the hot path stays a single read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from kapula.core.models import ApiToken, User, hash_token

TOUCH_EVERY = dt.timedelta(minutes=1)


class ApiTokenAuth(HttpBearer):
    openapi_description = "An API token created with `kapula create_api_token USER`."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        token = token.strip()
        if not token or len(token) > 200:
            return None
        rows = list(
            ApiToken.objects.filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .select_related("user", "user__organisation", "user__organisation__default_team")
            [:1]  # the hash is unique: LIMIT without ORDER BY
        )
        found = rows[0] if rows else None
        if found is None or not found.user.is_active:
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        user: User = found.user
        request.user = user
        request.api_token = found  # type: ignore[attr-defined]
        return user
