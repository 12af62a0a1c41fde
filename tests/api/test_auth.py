"""Bearer tokens: missing, wrong, revoked, inactive user; last_used_at bookkeeping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kapula.api.auth import forget_token
from kapula.core.actions import create_api_token, revoke_api_token
from kapula.core.models import ApiToken
from kapula.tickets.models import Ticket
from tests.api.conftest import ApiClient, client_for

pytestmark = pytest.mark.django_db


def _assert_401(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "unauthorized"
    assert response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Bearer nope",
                                    "Basic dXNlcjpwYXNz", "bearer kpl_x", "Bearer " + "x" * 5000])
def test_missing_or_bad_token_is_401(world, header) -> None:  # type: ignore[no-untyped-def]
    client = ApiClient(None)
    headers = {"Authorization": header} if header is not None else {}
    _assert_401(client.get("/tickets", headers=headers))
    _assert_401(client.post("/tickets", {"title": "x", "body": "y", "channel": "api"},
                            headers=headers))
    assert Ticket.objects.count() == 0


def test_revoked_token_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    token, raw = create_api_token(actor=None, user=world.agent, name="t")
    client = ApiClient(raw)
    assert client.get("/tickets").status_code == 200
    revoke_api_token(actor=world.agent, token=token)
    _assert_401(client.get("/tickets"))


def test_inactive_user_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.agent)
    world.agent.is_active = False
    world.agent.save()
    _assert_401(client.get("/tickets"))


def test_last_used_is_written_at_most_once_a_minute(world, django_assert_num_queries
                                                    ) -> None:  # type: ignore[no-untyped-def]
    token, raw = create_api_token(actor=None, user=world.org_admin, name="t")
    client = ApiClient(raw)
    assert client.get("/teams").status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    # within the minute: the verified token is cached, so only the teams query runs
    with django_assert_num_queries(1):
        assert client.get("/teams").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - dt.timedelta(minutes=2))
    forget_token()  # as when the short verification cache expires
    client.get("/teams")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > first


def test_docs_and_schema_need_no_token(world) -> None:  # type: ignore[no-untyped-def]
    client = ApiClient(None)
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
