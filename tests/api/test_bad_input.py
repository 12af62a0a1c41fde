"""Bad input of every kind is a JSON 4xx with a stable code and leaves the data unchanged."""

from __future__ import annotations

import json

import pytest

from kapula.tickets.models import HistoryEntry, Message, Ticket
from tests.api.conftest import new_ticket

pytestmark = pytest.mark.django_db

GOOD = {"title": "Otsikko", "body": "Viesti", "channel": "api"}


def _snapshot() -> tuple[int, int, int, list[tuple[str, str, int]]]:
    return (Ticket.objects.count(), Message.objects.count(), HistoryEntry.objects.count(),
            list(Ticket.objects.order_by("id").values_list("title", "status", "version")))


def _error(response, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["code"], str) and body["message"]
    if code:
        assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(("raw", "status", "code"), [
    ("{not json", 400, "invalid_json"),
    ('{"title": "x",}', 400, "invalid_json"),
    (b"\xff\xfe\x00garbage", 400, "invalid_json"),
    ("[]", 422, "invalid_input"),
    ('"just a string"', 422, "invalid_input"),
    ("null", 422, "invalid_input"),
    ("123", 422, "invalid_input"),
    (json.dumps({**GOOD, "unknown": 1}), 422, "invalid_input"),
    (json.dumps({**GOOD, "title": None}), 422, "invalid_input"),
    (json.dumps({**GOOD, "title": ""}), 422, "invalid_input"),
    (json.dumps({**GOOD, "title": "x" * 301}), 422, "invalid_input"),
    (json.dumps({**GOOD, "title": 5}), 422, "invalid_input"),
    (json.dumps({**GOOD, "body": ["a"]}), 422, "invalid_input"),
    (json.dumps({"title": "x", "channel": "api"}), 422, "invalid_input"),
    (json.dumps({**GOOD, "impact": "extreme"}), 422, "invalid_input"),
    (json.dumps({**GOOD, "language": "de"}), 422, "invalid_input"),
    (json.dumps({**GOOD, "customer": 10**30}), 422, "invalid_input"),
    (json.dumps({**GOOD, "customer": -1}), 422, "invalid_input"),
    (json.dumps({**GOOD, "customer": {"name": "x", "shoe": 42}}), 422, "invalid_input"),
    (json.dumps({**GOOD, "customer": {"email": "not-an-email"}}), 422, "invalid_email"),
    (json.dumps({**GOOD, "location": {"latitude": "north"}}), 422, "invalid_input"),
    (json.dumps({**GOOD, "location": {"latitude": 1e400, "longitude": 1}}), 422,
     "invalid_input"),
    (json.dumps({**GOOD, "tags": ["t"] * 31}), 422, "invalid_input"),
    (json.dumps({**GOOD, "tags": "not-a-list"}), 422, "invalid_input"),
    (json.dumps({**GOOD, "custom_fields": {"nope": 1}}), 422, "unknown_custom_field"),
    (json.dumps({**GOOD, "custom_fields": {"x": {"deep": 1}}}), 422, "invalid_input"),
    (json.dumps({**GOOD, "team": "no-such-team"}), 422, "invalid_team"),
    (json.dumps({**GOOD, "external_refs": [{"system": "", "id": "1"}]}), 422,
     "invalid_input"),
])
def test_bad_create_bodies(world, api, raw, status, code) -> None:  # type: ignore[no-untyped-def]
    before = _snapshot()
    response = api.post("/tickets", raw=raw)
    body = _error(response, status, code)
    if code == "invalid_input":
        assert body["details"]["errors"]
    assert _snapshot() == before


def test_unknown_field_names_the_field(world, api) -> None:  # type: ignore[no-untyped-def]
    body = _error(api.post("/tickets", {**GOOD, "titel": "typo"}), 422, "invalid_input")
    assert body["field"] == "titel"


def test_huge_bodies(world, api, settings) -> None:  # type: ignore[no-untyped-def]
    before = _snapshot()
    _error(api.post("/tickets", {**GOOD, "body": "x" * (settings.KAPULA_MAX_BODY_CHARS + 1)}),
           413, "body_too_large")
    _error(api.post("/tickets", raw=json.dumps({**GOOD, "body": "y" * (6 * 1024 * 1024)})),
           413, "request_too_large")
    assert _snapshot() == before


def test_script_is_sanitised(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api, title="<script>alert(1)</script>Valo",
                      body="<img src=x onerror=alert(1)>", body_html=(
                          '<p onclick="evil()">Hei <script>alert(1)</script>'
                          '<a href="javascript:alert(1)">linkki</a></p>'))
    message = Message.objects.get(pk=data["message"])
    assert "<script" not in message.body_html
    assert "onclick" not in message.body_html and "javascript:" not in message.body_html
    reply = api.post(f"/tickets/{data['id']}/messages", {
        "kind": "reply", "body": "<script>alert(2)</script>",
    }).json()
    assert "<script>" not in reply["body_html"]
    assert "&lt;script&gt;" in reply["body_html"]


def test_nul_characters_are_dropped(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api, title="Null\x00tavu", body="a\x00b")
    assert Ticket.objects.get(pk=data["id"]).title == "Nulltavu"
    assert api.get("/tickets", {"tag": "x\x00"}).status_code == 200


@pytest.mark.parametrize("params", [
    {"cursor": "garbage!!"}, {"cursor": "W10"}, {"cursor": "eyJhIjoxfQ"},
    {"cursor": "WyJub3QgYSBkYXRlIiwgMV0"}, {"limit": "-1"}, {"limit": "0"},
    {"limit": "100000"}, {"limit": "abc"}, {"sort": "title"}, {"status": "weird"},
    {"channel": "fax"}, {"language": "de"}, {"priority": "high"}, {"team": "-5"},
    {"team": "99999999999999999999999"}, {"created_from": "yesterday"},
    {"updated_to": "2026-13-45"}, {"assignee": "someone"}, {"customer": "0"},
    {"created_from": "0001-01-01"}, {"created_to": "9999-12-31"},
    {"updated_from": "9999-12-31"}, {"customer": "99999999999999999999"},
    {"priority": "99999999999999999999"},
    {"cursor": "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwgMV0"},  # year 1, +14:00
    {"cursor": "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTEyOjAwIiwgMV0"},  # year 9999, -12:00
])
def test_bad_list_parameters(world, api, params) -> None:  # type: ignore[no-untyped-def]
    new_ticket(api)
    response = api.get("/tickets", params)
    assert 400 <= response.status_code < 500, (params, response.content)
    assert response.json()["code"]


@pytest.mark.parametrize("path", ["/tickets/abc", "/tickets/-1", "/tickets/" + "9" * 40,
                                  "/tickets/TRE-2026-999999", "/customers/abc",
                                  "/customers/99999999999999999999", "/attachments/x",
                                  "/no/such/thing", "/tickets/1/nothing"])
def test_unknown_things_are_json_404_or_422(world, api, path) -> None:  # type: ignore[no-untyped-def]
    response = api.get(path)
    assert response.status_code in (404, 422), (path, response.content)
    assert response.json()["code"]


def test_wrong_method_is_json_405(world, api) -> None:  # type: ignore[no-untyped-def]
    response = api.send("DELETE", "/tickets")
    body = _error(response, 405, "method_not_allowed")
    assert "GET" in body["details"]["allowed"]
    _error(api.send("PUT", "/teams", {}), 405, "method_not_allowed")


@pytest.mark.parametrize("body", [
    {"version": 2, "status": "bogus"}, {"version": 2, "title": None},
    {"version": 2, "team": None}, {"version": 2, "assignee": 999999},
    {"version": 2, "impact": None}, {"version": 2, "custom_fields": {"nope": "x"}},
    {"version": 2, "type": "nope"}, {"version": 2, "customer": 424242},
    {"version": 2, "status": "pending_customer", "title": "ok"},
    {"version": -3}, {"version": "one"}, {"version": 2, "id": 5},
])
def test_bad_updates_change_nothing(world, admin_api, body) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(admin_api)
    admin_api.post(f"/tickets/{data['id']}/status", {"status": "resolved"})
    before = _snapshot()
    response = admin_api.patch(f"/tickets/{data['id']}", body)
    assert response.status_code == 422, (body, response.content)
    assert response.json()["code"]
    assert _snapshot() == before


def test_bad_message_bodies(world, api, settings) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    before = _snapshot()
    path = f"/tickets/{data['id']}/messages"
    _error(api.post(path, {"kind": "inbound", "body": "x"}), 422, "invalid_input")
    _error(api.post(path, {"kind": "reply", "body": ""}), 422, "body_required")
    _error(api.post(path, {"kind": "reply", "body": "x" * (settings.KAPULA_MAX_BODY_CHARS + 1)}),
           413, "body_too_large")
    _error(api.post(path, {"kind": "reply"}, headers={"If-Match": "nonsense"}), 422,
           "invalid_if_match")
    assert _snapshot() == before


FUZZ_VALUES = [None, True, -1, 0, 2**70, 1.5, float("1e308"), "", "x" * 5000, "<script>",
               [], [None], {}, {"a": {"b": []}}]


@pytest.mark.parametrize("field", ["title", "body", "channel", "body_html", "customer",
                                   "language", "type", "category", "team", "impact",
                                   "urgency", "location", "custom_fields", "tags",
                                   "external_refs"])
def test_fuzz_create_fields(world, api, field) -> None:  # type: ignore[no-untyped-def]
    for value in FUZZ_VALUES:
        response = api.post("/tickets", {**GOOD, field: value})
        assert response.status_code < 500, (field, value, response.content)
        assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("field", ["version", "title", "status", "team", "assignee", "impact",
                                   "type", "category", "customer", "language", "tags",
                                   "custom_fields", "location", "first_contact_resolution"])
def test_fuzz_update_fields(world, admin_api, field) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(admin_api)
    for value in FUZZ_VALUES:
        body = {"version": Ticket.objects.get(pk=data["id"]).version, field: value}
        response = admin_api.patch(f"/tickets/{data['id']}", body)
        assert response.status_code < 500, (field, value, response.content)


@pytest.mark.parametrize(("path", "base", "field"), [
    ("/customers", {"name": "N"}, f) for f in ("name", "emails", "phones", "language",
                                               "organisation_name")
] + [("/messages", {"kind": "note", "body": "b"}, f) for f in ("kind", "body", "body_html",
                                                                "version")]
  + [("/status", {"status": "open"}, f) for f in ("status", "version")]
  + [("/links", {"ticket": 1}, f) for f in ("ticket", "kind")]
  + [("/merge", {"into": 1}, f) for f in ("into",)])
def test_fuzz_other_posts(world, api, path, base, field) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    url = path if path == "/customers" else f"/tickets/{data['id']}{path}"
    for value in FUZZ_VALUES:
        response = api.post(url, {**base, field: value})
        assert response.status_code < 500, (path, field, value, response.content)
