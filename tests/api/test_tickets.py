"""Ticket endpoints: create, read, list with filters and cursors, update, status, links,
merge; versions and ETags; organisation and team boundaries."""

from __future__ import annotations

import pytest

from kapula.api.schemas import TicketCreated, TicketDetail, TicketPage
from kapula.core.models import Customer
from kapula.tickets import actions
from kapula.tickets.models import (
    ExternalReference,
    HistoryEntry,
    Message,
    Status,
    Ticket,
    TicketLink,
)
from tests.api.conftest import client_for, new_ticket

pytestmark = pytest.mark.django_db


# --- create ------------------------------------------------------------------------------


def test_create_minimal_detects_language(world, api) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/tickets", {
        "title": "Login does not work", "channel": "api",
        "body": "I cannot log in to the library service since yesterday morning, please help."})
    assert response.status_code == 201
    data = response.json()
    TicketCreated.model_validate(data)
    assert data["number"].startswith("TRE-")
    assert data["status"] == "new"
    assert data["language"] == "en"
    assert data["team"] == world.service_point.pk
    assert response["ETag"] == '"1"'
    ticket = Ticket.objects.get(pk=data["id"])
    assert ticket.channel == "api" and ticket.created_by == world.agent
    assert Message.objects.get(pk=data["message"]).ticket_id == ticket.pk


def test_create_with_everything(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(
        api, language="sv", type="incident", category=world.category.pk,
        team=world.service_point.slug, impact="high", urgency="high",
        customer={"name": "Maija Meikäläinen", "email": "maija@example.fi",
                  "phone": "040 123 4567"},
        location={"latitude": 61.4978, "longitude": 23.761, "address": "Hämeenkatu 1"},
        tags=["valot", "katu", "valot"], external_refs=[{"system": "maint", "id": "W-1"}],
    )
    assert data["language"] == "sv"
    assert data["type"] == world.incident.pk
    assert data["category"] == world.category.pk
    assert data["priority"] == 1
    assert data["tags"] == ["katu", "valot"]
    assert data["location"]["address"] == "Hämeenkatu 1"
    assert data["location"]["northing"] is not None
    ticket = Ticket.objects.get(pk=data["id"])
    assert ticket.customer is not None and ticket.customer.name == "Maija Meikäläinen"
    assert sorted(t.name for t in ticket.tags.all()) == ["katu", "valot"]
    assert ExternalReference.objects.get(ticket=ticket).external_id == "W-1"
    detail = api.get(f"/tickets/{ticket.pk}").json()
    assert detail["external_refs"] == [{"system": "maint", "id": "W-1"}]
    assert detail["tags"] == data["tags"]


def test_create_with_existing_customer_id_and_etrs_location(world, api
                                                             ) -> None:  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(organisation=world.org, name="Olli", language="en")
    data = new_ticket(api, customer=customer.pk,
                      location={"northing": 6822000, "easting": 327000})
    assert data["customer"] == customer.pk
    assert data["language"] == "en"  # the customer's language
    assert 61 < data["location"]["latitude"] < 62


def test_create_rejects_other_organisations_things(world, api) -> None:  # type: ignore[no-untyped-def]
    foreign = Customer.objects.create(organisation=world.other_org, name="Ulkopuolinen")
    for extra, code in (({"customer": foreign.pk}, "customer_not_found"),
                        ({"team": world.other_team.pk}, "invalid_team"),
                        ({"type": 999999}, "invalid_type"),
                        ({"category": 424242}, "invalid_category"),
                        ({"channel": "pigeon"}, "invalid_channel"),
                        ({"location": {"latitude": 10, "longitude": 10}},
                         "location_out_of_range")):
        body = {"title": "T", "body": "B", "channel": "api", **extra}
        response = api.post("/tickets", body)
        assert response.status_code == 422, (extra, response.content)
        assert response.json()["code"] == code
    assert Ticket.objects.count() == 0


# --- read --------------------------------------------------------------------------------


def test_read_by_id_and_number(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    by_id = api.get(f"/tickets/{data['id']}")
    by_number = api.get(f"/tickets/{data['number'].lower()}")
    assert by_id.status_code == by_number.status_code == 200
    TicketDetail.model_validate(by_id.json())
    assert by_id.json() == by_number.json()
    assert by_id["ETag"] == '"1"'


def test_other_organisation_and_other_team_get_404(world, api, other_api
                                                   ) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    outsider = client_for(world.outsider)  # same organisation, no team
    for client in (other_api, outsider):
        for path in (f"/tickets/{data['id']}", f"/tickets/{data['number']}",
                     f"/tickets/{data['id']}/messages"):
            response = client.get(path)
            assert response.status_code == 404
            assert response.json()["code"] == "ticket_not_found"
        assert client.patch(f"/tickets/{data['id']}", {"title": "hacked", "version": 1}
                            ).status_code == 404
        assert client.post(f"/tickets/{data['id']}/status", {"status": "closed"}
                           ).status_code == 404
        assert client.post(f"/tickets/{data['id']}/messages", {"kind": "note", "body": "x"}
                           ).status_code == 404
        assert client.get("/tickets").json()["items"] == []
    ticket = Ticket.objects.get(pk=data["id"])
    assert (ticket.title, ticket.status, ticket.version, ticket.message_count) == (
        "Katuvalo ei pala", "new", 1, 1)
    # an unknown id looks exactly like a forbidden one
    assert other_api.get("/tickets/99999999").json() == other_api.get(
        f"/tickets/{data['id']}").json()


# --- list --------------------------------------------------------------------------------


def test_list_filters(world, admin_api) -> None:  # type: ignore[no-untyped-def]
    a = new_ticket(admin_api, team="it", tags=["verkko"], impact="high", urgency="high")
    b = new_ticket(admin_api, channel="phone", language="sv")
    c = new_ticket(admin_api, category=world.category.pk)
    ticket_a = Ticket.objects.get(pk=a["id"])
    actions.assign(actor=world.org_admin, ticket=ticket_a, assignee=world.lead)
    actions.change_status(actor=None, ticket=Ticket.objects.get(pk=c["id"]),
                          status=Status.RESOLVED)

    def ids(**params):  # type: ignore[no-untyped-def]
        response = admin_api.get("/tickets", params)
        assert response.status_code == 200, response.content
        TicketPage.model_validate(response.json())
        return sorted(item["id"] for item in response.json()["items"])

    assert ids() == sorted([a["id"], b["id"], c["id"]])
    assert ids(status="resolved") == [c["id"]]
    assert ids(status="new") == sorted([a["id"], b["id"]])
    assert ids(status=["open", "resolved"]) == [c["id"]]
    assert ids(channel="phone") == [b["id"]]
    assert ids(language="sv") == [b["id"]]
    assert ids(team=world.it_desk.pk) == [a["id"]]
    assert ids(priority=1) == [a["id"]]
    assert ids(tag="verkko") == [a["id"]]
    assert ids(category=world.category.pk) == [c["id"]]
    assert ids(assignee=world.lead.pk) == [a["id"]]
    assert ids(assignee="none") == sorted([b["id"], c["id"]])
    assert ids(assignee="me") == []
    assert ids(type=a["type"]) == sorted([a["id"], b["id"], c["id"]])
    assert ids(created_from="2000-01-01", created_to="2999-01-01") == sorted(
        [a["id"], b["id"], c["id"]])
    assert ids(updated_to="2000-01-01") == []


def test_list_cursor_pagination_and_sorts(world, admin_api) -> None:  # type: ignore[no-untyped-def]
    created = [new_ticket(admin_api, title=f"T{i}")["id"] for i in range(7)]
    for sort, expected in (("-created", created[::-1]), ("created", created)):
        seen: list[int] = []
        cursor = None
        for _ in range(10):
            params = {"limit": 3, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = admin_api.get("/tickets", params).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected


def test_list_query_count(world, api, admin_api, django_assert_max_num_queries
                          ) -> None:  # type: ignore[no-untyped-def]
    for i in range(12):
        new_ticket(api, title=f"T{i}", tags=[f"t{i}", "yhteinen"])
    # token, scope (memberships, units), tickets, tags
    with django_assert_max_num_queries(5):
        response = api.get("/tickets", {"limit": 10})
    assert len(response.json()["items"]) == 10
    with django_assert_max_num_queries(5):
        response = api.get("/tickets", {"limit": 10, "cursor": response.json()["next_cursor"],
                                        "status": "new", "tag": "yhteinen"})
    assert len(response.json()["items"]) == 2
    admin_api.get("/teams")  # first use of the token writes last_used_at
    # org admins need no unit tree: token, memberships, tickets, tags
    with django_assert_max_num_queries(4):
        assert admin_api.get("/tickets").status_code == 200


# --- update ------------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", ["1", '"1"', 'W/"1"'])
def test_patch_with_if_match(world, api, if_match) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    response = api.patch(f"/tickets/{data['id']}",
                         {"title": "Katuvalo pimeänä", "status": "open", "impact": "high",
                          "tags": ["valot"]}, headers={"If-Match": if_match})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["status"], body["impact"], body["tags"], body["version"]) == (
        "Katuvalo pimeänä", "open", "high", ["valot"], 2)
    assert response["ETag"] == '"2"'
    assert HistoryEntry.objects.filter(ticket_id=data["id"], field="title").exists()


def test_patch_with_version_field_assign_and_clear(world, admin_api
                                                   ) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(admin_api)
    response = admin_api.patch(f"/tickets/{data['id']}", {
        "version": 1, "team": world.it_desk.pk, "assignee": world.lead.pk,
        "location": {"latitude": 61.5, "longitude": 23.7}, "first_contact_resolution": True})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == world.lead.pk
    response = admin_api.patch(f"/tickets/{data['id']}",
                               {"version": 2, "assignee": None, "location": None})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] is None
    assert response.json()["location"] is None


def test_stale_update_is_409_and_changes_nothing(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    assert api.patch(f"/tickets/{data['id']}", {"title": "Eka"},
                     headers={"If-Match": '"1"'}).status_code == 200
    history = HistoryEntry.objects.count()
    response = api.patch(f"/tickets/{data['id']}", {"title": "Toka"},
                         headers={"If-Match": '"1"'})
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"
    assert response.json()["details"] == {"current_version": 2}
    response = api.post(f"/tickets/{data['id']}/status", {"status": "open", "version": 1})
    assert response.status_code == 409
    ticket = Ticket.objects.get(pk=data["id"])
    assert (ticket.title, ticket.version, ticket.status) == ("Eka", 2, "new")
    assert HistoryEntry.objects.count() == history


def test_update_needs_a_version(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    response = api.patch(f"/tickets/{data['id']}", {"title": "Ilman versiota"})
    assert response.status_code == 428
    assert response.json()["code"] == "version_required"
    for bad in ("abc", 'W/"x"', "1.5", "-1"):
        response = api.patch(f"/tickets/{data['id']}", {"title": "X"},
                             headers={"If-Match": bad})
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_if_match"
    response = api.patch(f"/tickets/{data['id']}", {"title": "X", "version": 2},
                         headers={"If-Match": "1"})
    assert response.json()["code"] == "version_mismatch"
    assert Ticket.objects.get(pk=data["id"]).title == "Katuvalo ei pala"


def test_status_endpoint_and_invalid_transition(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    response = api.post(f"/tickets/{data['id']}/status", {"status": "resolved"},
                        headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    assert response["ETag"] == '"2"'
    response = api.post(f"/tickets/{data['id']}/status", {"status": "pending_customer"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_transition"
    assert set(response.json()["details"]["allowed"]) == {"closed", "open"}
    response = api.post(f"/tickets/{data['id']}/status", {"status": "bogus"})
    assert response.json()["code"] == "invalid_status"
    ticket = Ticket.objects.get(pk=data["id"])
    assert (ticket.status, ticket.version) == ("resolved", 2)


# --- links and merge -----------------------------------------------------------------------


def test_link_and_merge(world, api) -> None:  # type: ignore[no-untyped-def]
    a, b, c = (new_ticket(api, title=t) for t in ("A", "B", "C"))
    response = api.post(f"/tickets/{a['id']}/links", {"ticket": b["number"]})
    assert response.status_code == 201, response.content
    assert TicketLink.objects.filter(source_id=a["id"], target_id=b["id"]).exists()
    assert api.post(f"/tickets/{a['id']}/links", {"ticket": b["id"]}
                    ).json()["code"] == "already_linked"
    response = api.post(f"/tickets/{c['id']}/links", {"ticket": a["id"], "kind": "parent"})
    assert response.status_code == 201
    assert Ticket.objects.get(pk=c["id"]).parent_id == a["id"]
    assert api.post(f"/tickets/{a['id']}/links", {"ticket": a["id"]}
                    ).json()["code"] == "self_link"
    response = api.post(f"/tickets/{b['id']}/merge", {"into": a["number"]})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == a["id"]
    source = Ticket.objects.get(pk=b["id"])
    assert source.merged_into_id == a["id"] and source.status == "closed"
    assert api.post(f"/tickets/{b['id']}/merge", {"into": a["id"]}
                    ).json()["code"] == "already_merged"


def test_cannot_link_or_merge_into_invisible_tickets(world, api, other_api
                                                     ) -> None:  # type: ignore[no-untyped-def]
    mine = new_ticket(api)
    theirs = new_ticket(other_api)
    response = api.post(f"/tickets/{mine['id']}/links", {"ticket": theirs["id"]})
    assert response.status_code == 404 and response.json()["field"] == "ticket"
    response = api.post(f"/tickets/{mine['id']}/merge", {"into": theirs["number"]})
    assert response.status_code == 404
    assert TicketLink.objects.count() == 0
    assert Ticket.objects.get(pk=mine["id"]).merged_into_id is None
