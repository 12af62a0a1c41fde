"""Login by an emailed one-time link: the neutral answer, the mail, the GET that changes
nothing, the POST that uses the link once, expired/used/unknown links, rate limits."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from kapula.core.models import hash_token
from kapula.portal import actions
from kapula.portal.models import PortalLink
from kapula.portal.views import EMAIL_KEY, ORG_KEY
from kapula.tickets.models import Ticket
from tests.mail.conftest import smtp_sink  # noqa: F401  (a real SMTP server)
from tests.portal.conftest import (
    EMAIL,
    english,
    link_in,
    links,
    mailed_link,
    make_customer,
    make_ticket,
    path_of,
)

NEUTRAL = b"If this address has matters with us, a link was sent"


@pytest.fixture
def aino(world: Any) -> Any:
    customer = make_customer(world.org, language="en")
    make_ticket(world.org, customer, "Katuvalo rikki")
    return customer


def test_whole_flow_with_a_real_smtp_server(world, aino, smtp_sink, settings,  # noqa: F811
                                            django_capture_on_commit_callbacks) -> None:
    settings.KAPULA_BASE_URL = "https://asiointi.example.fi"
    client = english()
    page = client.get("/portal/tre/login/")
    assert page.status_code == 200 and b'name="email"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/tre/login/", {"email": "  AINO@example.fi "})
    assert response.status_code == 200 and NEUTRAL in response.content
    (_sender, rcpts, raw), = smtp_sink.wait_for(1)
    assert rcpts == [EMAIL]
    received = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(),
                                        policy=email.policy.default)
    assert received["Subject"] == "Your login link to the customer service of Tampere"
    assert received["Content-Language"] == "en"
    text = received.get_content()  # type: ignore[attr-defined]
    url = link_in(text)
    assert url.startswith("https://asiointi.example.fi/portal/tre/login/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = PortalLink.objects.get()
    assert link.token_hash == hash_token(token) and token not in str(link.__dict__)
    assert link.email == EMAIL and link.used_at is None
    assert timedelta(minutes=29) < link.expires_at - link.created_at <= timedelta(minutes=30)

    # the GET (a mail scanner, a preview) shows a button and uses nothing
    before = client.session.session_key
    page = client.get(path_of(url))
    assert page.status_code == 200 and b"Log in" in page.content
    link.refresh_from_db()
    assert link.used_at is None
    assert client.get("/portal/tre/").status_code == 302

    response = client.post(path_of(url))
    assert response.status_code == 302 and response["Location"] == "/portal/tre/"
    assert client.session[ORG_KEY] == world.org.pk and client.session[EMAIL_KEY] == EMAIL
    assert client.session.session_key != before  # the session key was rotated
    link.refresh_from_db()
    assert link.used_at is not None
    page = client.get("/portal/tre/")
    assert page.status_code == 200 and b"Katuvalo rikki" in page.content
    assert b"/help/tre/" in page.content  # the knowledge base link

    # log out: the portal session is gone
    response = client.post("/portal/tre/logout/")
    assert response.status_code == 302 and response["Location"] == "/portal/tre/login/"
    assert client.get("/portal/tre/").status_code == 302


def test_unknown_address_gets_the_same_answer_and_no_mail(world, aino,
                                                          django_capture_on_commit_callbacks
                                                          ) -> None:
    client = english()
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post("/portal/tre/login/", {"email": "nobody@example.fi"})
        known = client.post("/portal/tre/login/", {"email": EMAIL})
    assert unknown.status_code == known.status_code == 200
    assert NEUTRAL in unknown.content and NEUTRAL in known.content
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    assert links() == 1


def test_other_organisation_knows_nothing_of_the_address(world, aino,
                                                         django_capture_on_commit_callbacks
                                                         ) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = english().post("/portal/oulu/login/", {"email": EMAIL})
    assert response.status_code == 200 and NEUTRAL in response.content
    assert mail.outbox == [] and links() == 0


def test_mail_is_in_the_customers_language(world, django_capture_on_commit_callbacks) -> None:
    make_customer(world.org, "sven@example.fi", "Sven", language="sv")
    with django_capture_on_commit_callbacks(execute=True):
        english().post("/portal/tre/login/", {"email": "sven@example.fi"})
    message = mail.outbox[0]
    assert message.extra_headers["Content-Language"] == "sv"
    assert "/portal/tre/login/" in str(message.body)


@pytest.mark.parametrize("value, text", [
    ("", b"Enter your email address."),
    ("not-an-address", b"Enter a valid email address"),
    ("a@" + "b" * 300 + ".fi", b"Enter a valid email address"),
])
def test_bad_address_is_a_form_error(world, value, text) -> None:
    response = english().post("/portal/tre/login/", {"email": value})
    assert response.status_code == 422
    assert text in response.content and b'role="alert"' in response.content
    assert b'aria-invalid="true"' in response.content
    assert links() == 0


def test_form_error_in_finnish_by_default(world) -> None:
    response = Client().post("/portal/tre/login/", {"email": ""})
    assert response.status_code == 422
    assert b'lang="fi"' in response.content


def _link(world: Any, **kw: Any) -> tuple[str, PortalLink]:
    raw = "t" * 10 + str(PortalLink.objects.count()) + "x" * 32
    now = timezone.now()
    values = {"organisation": world.org, "email": EMAIL, "token_hash": hash_token(raw),
              "created_at": now, "expires_at": now + timedelta(minutes=30)}
    values.update(kw)
    return f"/portal/tre/login/{raw}/", PortalLink.objects.create(**values)


def test_expired_link(world, aino) -> None:
    url, _link_row = _link(world, expires_at=timezone.now() - timedelta(seconds=1))
    client = english()
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        assert b"This login link has expired." in response.content
        assert b'name="email"' in response.content  # ask for a new one right there
    assert ORG_KEY not in client.session


def test_used_link_cannot_log_in_again(world, aino) -> None:
    url, _row = _link(world)
    first = english()
    assert first.post(url).status_code == 302
    second = english()
    response = second.post(url)
    assert response.status_code == 410
    assert b"This login link has already been used." in response.content
    assert ORG_KEY not in second.session
    assert second.get(url).status_code == 410


@pytest.mark.parametrize("token", ["nonsense", "x" * 43, "y" * 300])
def test_unknown_token(world, aino, token) -> None:
    response = english().get(f"/portal/tre/login/{token}/")
    assert response.status_code == 404
    assert b"This login link is not valid." in response.content
    assert b'name="email"' in response.content
    assert english().post(f"/portal/tre/login/{token}/").status_code == 404


def test_a_link_works_only_in_its_own_organisation(world, aino) -> None:
    url, _row = _link(world)
    assert english().post(url.replace("/tre/", "/oulu/")).status_code == 404
    assert english().post(url.replace("/tre/", "/nowhere/")).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_redeems_only_one_wins(world, aino) -> None:
    url, link = _link(world)
    token = url.rstrip("/").rsplit("/", 1)[1]
    results: list[str] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        try:
            barrier.wait()
            actions.redeem_link(organisation=world.org, token=token)
            results.append("ok")
        except actions.ActionError as exc:
            results.append(exc.code)
        except Exception as exc:  # SQLite may refuse the second writer: still not a login
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    link.refresh_from_db()
    assert link.used_at is not None


def test_conditional_update_refuses_a_link_used_meanwhile(world, aino) -> None:
    """The claim is ``UPDATE ... WHERE used_at IS NULL``: a link that another request used
    between the check and the claim is refused."""
    url, _row = _link(world)
    token = url.rstrip("/").rsplit("/", 1)[1]
    original = actions.find_link

    def stale(organisation: Any, raw: str) -> PortalLink:
        found = original(organisation, raw)
        PortalLink.objects.filter(pk=found.pk).update(used_at=timezone.now())
        return found  # still says "unused"

    actions.find_link = stale  # type: ignore[assignment]
    try:
        with pytest.raises(actions.LinkGone):
            actions.redeem_link(organisation=world.org, token=token)
    finally:
        actions.find_link = original  # type: ignore[assignment]


def test_rate_limit_per_address(world, aino, settings,
                                django_capture_on_commit_callbacks) -> None:
    settings.KAPULA_PORTAL_EMAIL_RATE = "2/900"
    with django_capture_on_commit_callbacks(execute=True):
        answers = [english().post("/portal/tre/login/", {"email": EMAIL},
                                  REMOTE_ADDR=f"10.0.0.{i}") for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert all(NEUTRAL in a.content for a in answers)
    assert len(mail.outbox) == 2 and links() == 2


def test_rate_limit_per_client(world, aino, settings,
                               django_capture_on_commit_callbacks) -> None:
    settings.KAPULA_PORTAL_IP_RATE = "3/900"
    client = english()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post("/portal/tre/login/", {"email": f"x{i}@example.fi"})
                   for i in range(3)]
        over = client.post("/portal/tre/login/", {"email": EMAIL})
    assert all(a.status_code == 200 for a in answers)
    assert over.status_code == 429
    assert b"Too many login links" in over.content and b'role="alert"' in over.content
    assert mail.outbox == [] and links() == 0


def test_login_page_of_unknown_organisation_is_404(db) -> None:
    assert Client().get("/portal/nowhere/login/").status_code == 404
    assert Client().get("/portal/nowhere/").status_code == 404


def test_mailed_link_logs_in(world, aino, django_capture_on_commit_callbacks) -> None:
    client = english()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/tre/login/", {"email": EMAIL})
    url = path_of(mailed_link())
    assert client.post(url).status_code == 302
    assert client.get("/portal/tre/login/").status_code == 302  # already logged in


def test_smtp_failure_is_no_500(world, aino, settings, django_capture_on_commit_callbacks
                                ) -> None:
    settings.MAILERS = {"default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2}}}
    with django_capture_on_commit_callbacks(execute=True):
        response = english().post("/portal/tre/login/", {"email": EMAIL})
    assert response.status_code == 200 and NEUTRAL in response.content


def test_a_matter_link_comes_back_to_the_matter_after_login(
        world, aino, django_capture_on_commit_callbacks) -> None:
    """The link in an acknowledgment opens the login; after the emailed link the customer
    lands on that matter, not on the list. Only this portal's own pages are accepted."""
    ticket = Ticket.objects.get(customer=aino)
    client = english()
    page = f"/portal/tre/tickets/{ticket.number}/"
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"] == "/portal/tre/login/?" + urlencode({"next": page})
    form = client.get(response["Location"]).content.decode()
    assert f'name="next" value="{page}"' in form
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/tre/login/", {"email": EMAIL, "next": page})
    assert PortalLink.objects.get().next_path == page
    response = client.post(path_of(mailed_link()))
    assert response.status_code == 302 and response["Location"] == page
    assert client.get(page).status_code == 200
    for bad in ("https://evil.example/", "//evil.example/portal/tre/", "/portal/oulu/",
                "/admin/", "/portal/tre/\r\nSet-Cookie: x", "/portal/tre//evil.example"):
        PortalLink.objects.all().delete()
        cache.clear()  # the per-address limit
        Client().post("/portal/tre/login/", {"email": EMAIL, "next": bad})
        assert PortalLink.objects.get().next_path == "", bad


def test_the_link_comes_from_the_organisations_service_address(
        world, aino, django_capture_on_commit_callbacks) -> None:
    from kapula.intake.mail.models import Mailbox

    Mailbox.objects.create(organisation=world.org, name="Palvelu", kind="lmtp",
                           address="palvelu@tre.example.fi", is_default_outbound=True)
    with django_capture_on_commit_callbacks(execute=True):
        english().post("/portal/tre/login/", {"email": EMAIL})
    assert mail.outbox[0].from_email == "Tampere <palvelu@tre.example.fi>"
