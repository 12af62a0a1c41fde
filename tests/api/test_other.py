"""Customers, configuration lists, the schema, the docs page and the commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import kapula.api
from kapula.api.schemas import CategoryOut, CustomerOut, CustomerPage, TeamOut
from kapula.core.models import ApiToken, Customer, hash_token
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

SCHEMA = Path(kapula.api.__file__).parent / "openapi.json"


def test_customers(world, api, other_api, django_assert_max_num_queries
                   ) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/customers", {"name": "Liisa Laine", "emails": ["Liisa@Example.fi"],
                                       "phones": ["040 765 4321"], "language": "fi"})
    assert response.status_code == 201, response.content
    CustomerOut.model_validate(response.json())
    customer_id = response.json()["id"]
    for _ in range(3):
        api.post("/customers", {"name": "Muu Asiakas"})
    for q in ("liisa", "liisa@example.fi", "+358407654321"):
        with django_assert_max_num_queries(3):
            found = api.get("/customers", {"q": q})
        CustomerPage.model_validate(found.json())
        assert [c["id"] for c in found.json()["items"]] == [customer_id], q
    page = api.get("/customers", {"limit": 2}).json()
    rest = api.get("/customers", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(page["items"]) + len(rest["items"]) == 4
    assert api.get(f"/customers/{customer_id}").json()["emails"] == ["Liisa@Example.fi"]
    # other organisations see nothing
    assert other_api.get(f"/customers/{customer_id}").status_code == 404
    assert other_api.get("/customers", {"q": "liisa"}).json()["items"] == []
    duplicate = api.post("/customers", {"name": "Kopio", "emails": ["liisa@example.fi"]})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "customer_exists"
    empty = api.post("/customers", {})
    assert empty.status_code == 422 and empty.json()["code"] == "customer_identity_required"
    assert Customer.objects.count() == 4


def test_teams_and_categories(world, api, other_api, django_assert_max_num_queries
                              ) -> None:  # type: ignore[no-untyped-def]
    api.get("/teams")
    with django_assert_max_num_queries(2):
        teams = api.get("/teams").json()
    for team in teams:
        TeamOut.model_validate(team)
    sp = next(t for t in teams if t["slug"] == "sp")
    assert sp["names"] == {"fi": "Palvelupiste", "sv": "Servicepunkt", "en": "Service point"}
    assert {t["slug"] for t in other_api.get("/teams").json()} == {"sp"}
    assert len(teams) == 3
    categories = api.get("/categories", headers={"Accept-Language": "en"}).json()
    CategoryOut.model_validate(categories[0])
    assert categories[0]["names"]["en"] == "Street lights"
    assert other_api.get("/categories").json() == []
    assert {t["code"] for t in api.get("/types").json()} == {"incident", "question"}


def test_committed_schema_matches_the_code() -> None:
    out = io.StringIO()
    call_command("export_openapi", "--check", str(SCHEMA), stdout=out)
    schema = json.loads(SCHEMA.read_text())
    assert schema["openapi"].startswith("3.1")
    for path in ("/api/v1/tickets", "/api/v1/tickets/{ref}", "/api/v1/tickets/{ref}/messages",
                 "/api/v1/customers", "/api/v1/teams", "/api/v1/categories",
                 "/api/v1/attachments/{attachment_id}"):
        assert path in schema["paths"], path


def test_export_check_reports_a_difference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("export_openapi", "--check", str(stale), stdout=out)
    assert "+++ code" in out.getvalue()
    target = tmp_path / "fresh.json"
    call_command("export_openapi", "--output", str(target), stderr=io.StringIO())
    call_command("export_openapi", "--check", str(target), stdout=io.StringIO())


def test_create_api_token_command(world) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("create_api_token", "agent", "--name", "integration", stdout=out,
                 stderr=io.StringIO())
    raw = out.getvalue().strip()
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert token.user == world.agent and token.name == "integration"
    assert raw not in {token.token_hash, token.prefix}
    assert ApiClient(raw).get("/teams").status_code == 200
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", stdout=io.StringIO())


def test_docs_page_uses_only_local_assets(world) -> None:  # type: ignore[no-untyped-def]
    client = ApiClient(None)
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<script>" not in html  # no inline script: only src= and a JSON data block
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    for name in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css"):
        asset = client.client.get(f"/api/v1/docs/assets/{name}")
        assert asset.status_code == 200
    assert client.client.get("/api/v1/docs/assets/..%2Fsettings.py").status_code == 404
