"""Embedding a public web form in the organisation's own website: frame headers per page,
the whole flow inside the frame, no CSRF cookie needed, intranet services never embedded,
the origins an organisation may list, the embed script and the admin's snippet."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from kapula.catalogue.models import FormSubmission, Service, Visibility
from kapula.core.models import Organisation, parse_origins, validate_origins
from kapula.tickets.models import Ticket
from tests.conftest import make_user
from tests.test_webform import form_data, services  # noqa: F401  (fixture)

EMBED = "/forms/tre/katuvalo/embed/"
OK = {"description": "Valo ei pala", "vika": "pimea", "location_address": "Hämeenkatu 1"}


@pytest.fixture
def site(world, services):  # noqa: F811
    world.org.embed_origins = "https://www.tampere.fi\nhttp://localhost:8001/\n"
    world.org.save()
    return world


def frame_ancestors(response) -> str:  # type: ignore[no-untyped-def]
    policy = response["Content-Security-Policy"]
    return next(p.strip() for p in policy.split(";") if p.strip().startswith("frame-ancestors"))


def test_only_embed_pages_may_be_framed_and_only_by_the_organisations_sites(site, client):
    page = client.get(EMBED)
    assert page.status_code == 200
    assert "X-Frame-Options" not in page
    assert frame_ancestors(page) == \
        "frame-ancestors 'self' https://www.tampere.fi http://localhost:8001"
    policy = page["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "default-src 'self'" in policy
    for path in ("/forms/tre/", "/forms/tre/katuvalo/", "/login/"):
        other = client.get(path)
        assert other["X-Frame-Options"] == "DENY", path
        assert frame_ancestors(other) == "frame-ancestors 'none'", path
    # another organisation's pages list its own sites only
    Service.objects.create(organisation=site.other_org, code="palaute", name_fi="Palaute")
    oulu = client.get("/forms/oulu/palaute/embed/")
    assert oulu.status_code == 200 and frame_ancestors(oulu) == "frame-ancestors 'self'"


def test_embed_page_has_minimal_chrome_and_a_cookieless_language_switch(site, client):
    page = client.get(EMBED + "?lang=sv")
    html = page.content.decode()
    assert page["Content-Language"] == "sv" and '<html lang="sv">' in html
    assert "Typ av fel" in html and "Lampan lyser inte" in html
    assert 'class="topbar"' not in html and "<footer" not in html
    assert 'name="lang"' in html and "/i18n/setlang/" not in html
    assert "webform/frame.js" in html and 'name="csrfmiddlewaretoken"' not in html
    assert 'class="skip-link"' in html and 'id="main"' in html
    assert "csrftoken" not in page.cookies
    assert "Kind of fault" in client.get(EMBED + "?lang=en").content.decode()
    assert "Vian laatu" in client.get(EMBED + "?lang=xx").content.decode()  # the default


def test_embedded_flow_without_csrf_cookie_stays_in_the_frame(site):
    client = Client(enforce_csrf_checks=True)
    url = EMBED + "?lang=en"
    bad = client.post(url, form_data(client, url, description="Broken"))
    assert bad.status_code == 422 and "X-Frame-Options" not in bad
    assert "https://www.tampere.fi" in frame_ancestors(bad)
    html = bad.content.decode()
    assert "This field is required." in html and 'class="topbar"' not in html
    response = client.post(url, form_data(client, url, email="asukas@example.fi", **OK))
    assert response.status_code == 302, response.content.decode()[:400]
    assert "/forms/tre/katuvalo/embed/thanks/" in response["Location"]
    assert response["Location"].endswith("?lang=en")
    thanks = client.get(response["Location"])
    ticket = Ticket.objects.get(organisation=site.org)
    assert thanks.status_code == 200 and ticket.number in thanks.content.decode()
    assert "X-Frame-Options" not in thanks and "https://www.tampere.fi" in frame_ancestors(thanks)
    assert "Send another message" in thanks.content.decode()
    assert ticket.channel == "web_form" and ticket.language == "en"
    assert ticket.team == site.service_point
    assert FormSubmission.objects.get(ticket=ticket).answers[0]["value"] == "pimea"
    # the ordinary form still needs its CSRF token
    assert client.post("/forms/tre/katuvalo/", form_data(
        client, "/forms/tre/katuvalo/", **OK)).status_code == 403


def test_embedded_form_keeps_its_spam_protection(site, settings):
    client = Client(enforce_csrf_checks=True)
    assert client.post(EMBED, form_data(client, EMBED, website="http://spam",
                                        **OK)).status_code == 400
    assert client.post(EMBED, {"stamp": "forged:1", **OK}).status_code == 400
    other_site = client.post(EMBED, form_data(client, EMBED, **OK),
                             HTTP_ORIGIN="https://evil.example")
    assert other_site.status_code == 403
    assert client.post(EMBED, form_data(client, EMBED, **OK),
                       HTTP_ORIGIN="http://testserver").status_code == 302
    settings.KAPULA_WEBFORM_RATE = "1/3600"
    assert client.post(EMBED, form_data(client, EMBED, **OK)).status_code == 429
    assert Ticket.objects.count() == 1


def test_a_session_gives_an_embedded_form_no_authority(site, services):  # noqa: F811
    """A logged-in employee's email is used on the ordinary form, never on the embedded
    one (whose POST is not CSRF-checked)."""
    client = Client()
    user = make_user("worker", site.org, email="worker@tre.fi")
    client.force_login(user)
    response = client.post(EMBED, form_data(client, EMBED, **OK))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.customer is None or "worker@tre.fi" not in ticket.customer.emails
    assert ticket.created_by is None


def test_intranet_and_unknown_services_are_not_embeddable(site, client):
    client.force_login(site.agent)
    assert client.get("/forms/tre/salasana/embed/").status_code == 404
    assert client.get("/forms/tre/salasana/").status_code == 200  # the ordinary form is
    assert client.post("/forms/tre/salasana/embed/", {"tunnus": "x"}).status_code == 404
    assert client.get("/forms/tre/nosuch/embed/").status_code == 404
    assert client.get("/forms/nosuch/katuvalo/embed/").status_code == 404
    Service.objects.filter(code="katuvalo").update(on_web=False)
    assert client.get(EMBED).status_code == 404
    Service.objects.filter(code="katuvalo").update(on_web=True, visibility=Visibility.BOTH)
    assert client.get(EMBED).status_code == 200
    assert client.get("/forms/tre/katuvalo/embed/thanks/forged/").status_code == 404


def test_origins_are_validated(world):
    validate_origins("https://www.tampere.fi\n\nhttp://localhost:8001\nhttps://[::1]:8443")
    for bad in ("https://www.tampere.fi/lomakkeet", "ftp://tampere.fi", "https://*.tampere.fi",
                "www.tampere.fi", "https://tampere.fi; script-src *", "https://a.fi:70000",
                "https://user@tampere.fi", "javascript:alert(1)", "'self'"):
        with pytest.raises(ValidationError):
            validate_origins(bad)
    assert parse_origins("HTTPS://WWW.Tampere.FI/\nhttps://x.fi; script-src *\n"
                         "https://www.tampere.fi") == ["https://www.tampere.fi"]
    org = Organisation(slug="x", name="X", ticket_prefix="X", embed_origins="https://a/b")
    with pytest.raises(ValidationError) as error:
        org.full_clean()
    assert "embed_origins" in error.value.message_dict


def test_org_admin_edits_the_origins_in_the_admin(world):
    client = Client()
    client.force_login(world.org_admin)
    client.cookies["django_language"] = "en"
    url = reverse("admin:core_organisation_change", args=[world.org.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="embed_origins"' in page.content.decode()
    data = {"slug": "tre", "name": "Tampere", "ticket_prefix": "TRE",
            "default_language": "fi", "default_team": world.service_point.pk,
            "embed_origins": "https://www.tampere.fi/path"}
    refused = client.post(url, data)
    assert refused.status_code == 200 and "Not valid" in refused.content.decode()
    data["embed_origins"] = "https://www.tampere.fi\r\nhttps://palvelut.tampere.fi"
    assert client.post(url, data).status_code == 302
    world.org.refresh_from_db()
    assert world.org.embed_origin_list == ["https://www.tampere.fi",
                                           "https://palvelut.tampere.fi"]


def test_embed_script_is_cached_and_revalidated(client, db):
    response = client.get("/forms/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age=86400" in response["Cache-Control"]
    body = response.content.decode()
    assert "data-kapula-form" in body and "event.origin" in body
    again = client.get("/forms/embed.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_service_admin_shows_the_snippet(site, client, settings):
    settings.KAPULA_BASE_URL = "https://kapula.tampere.fi"
    client.force_login(site.org_admin)
    fault = Service.objects.get(code="katuvalo")
    page = client.get(reverse("admin:catalogue_service_change", args=[fault.pk]))
    html = page.content.decode()
    assert "data-kapula-form=&quot;https://kapula.tampere.fi/forms/tre/katuvalo/&quot;" in html
    assert "https://kapula.tampere.fi/forms/embed.js" in html
    password = Service.objects.get(code="salasana")
    page = client.get(reverse("admin:catalogue_service_change", args=[password.pk]))
    assert "data-kapula-form" not in page.content.decode()
