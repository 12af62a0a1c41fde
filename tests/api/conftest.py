"""API test helpers: a client that sends a bearer token, and tokens for the world's users."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from kapula.core.actions import create_api_token
from kapula.core.models import User
from tests.conftest import World


class ApiClient:
    """Thin wrapper over Django's test client: JSON in, JSON out, with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.token is not None:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def get(self, path: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Any:
        return self.client.get("/api/v1" + path, params or {}, headers=self._headers(headers))

    def send(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None,
             headers: dict[str, str] | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        call = getattr(self.client, method.lower())
        return call("/api/v1" + path, data=data, content_type="application/json",
                    headers=self._headers(headers))

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.send("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.send("PATCH", path, body, **kw)

    def upload(self, path: str, data: dict[str, Any], headers: dict[str, str] | None = None
               ) -> Any:
        return self.client.post("/api/v1" + path, data=data, headers=self._headers(headers))


def client_for(user: User) -> ApiClient:
    _token, raw = create_api_token(actor=None, user=user, name="test")
    return ApiClient(raw)


@pytest.fixture
def api(world: World) -> ApiClient:
    """The service-point agent of the first organisation."""
    return client_for(world.agent)


@pytest.fixture
def admin_api(world: World) -> ApiClient:
    return client_for(world.org_admin)


@pytest.fixture
def other_api(world: World) -> ApiClient:
    """An agent of the other organisation."""
    return client_for(world.other_agent)


def new_ticket(client: ApiClient, **extra: Any) -> dict[str, Any]:
    body = {"title": "Katuvalo ei pala", "body": "Katuvalo on ollut rikki viikon.",
            "channel": "api", **extra}
    response = client.post("/tickets", body)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]
