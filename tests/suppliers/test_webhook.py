"""Escalation to a webhook supplier: a JSON POST to a real HTTP server on a local socket,
signed when a secret is configured, retried by the outbox when the server fails."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from kapula.core.actions import CustomerIdentity
from kapula.core.models import OutboxDelivery, OutboxEvent
from kapula.intake.actions import Intake, receive
from kapula.suppliers import actions as S
from kapula.suppliers.models import Supplier, SupplierChannel
from tests.mail.test_ingest import deliver_events


class Hook:
    """A local HTTP endpoint that records POSTs and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.requests.append((dict(self.headers.items()), self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kapula"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.close()


@pytest.fixture
def webhook_supplier(world, hook) -> Supplier:  # type: ignore[no-untyped-def]
    return Supplier.objects.create(organisation=world.org, name="Verkko Oy",
                                   channel=SupplierChannel.WEBHOOK, webhook_url=hook.url,
                                   webhook_secret_env="KAPULA_TEST_HOOK_SECRET",
                                   response_hours=2)


def escalate(world, supplier):  # type: ignore[no-untyped-def]
    ticket = receive(Intake(organisation=world.org, channel="web_form", subject="Verkko poikki",
                            body="Koko kerros ilman verkkoa.", team=world.it_desk,
                            customer=CustomerIdentity(name="Aino", email="aino@example.fi"))
                     ).ticket
    return ticket, S.escalate(actor=world.lead, ticket=ticket, supplier=supplier,
                              reason="Kytkinvika", note="Kytkin sw-3 ei vastaa.")


def test_webhook_receives_signed_json(world, hook, webhook_supplier, monkeypatch):
    monkeypatch.setenv("KAPULA_TEST_HOOK_SECRET", "s3cret")
    ticket, esc = escalate(world, webhook_supplier)
    deliver_events()
    assert len(hook.requests) == 1
    headers, body = hook.requests[0]
    data = json.loads(body)
    assert data["event"] == "supplier.escalated"
    assert data["ticket"]["number"] == ticket.number and data["reason"] == "Kytkinvika"
    assert data["note"] == "Kytkin sw-3 ei vastaa."
    assert data["engagement"]["id"] == esc.engagement_id
    assert data["engagement"]["response_due_at"]
    assert "aino@example.fi" not in body.decode()
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Kapula-Signature"] == expected
    assert headers["X-Kapula-Ticket"] == ticket.number
    assert headers["Content-Type"].startswith("application/json")
    deliver_events()
    assert len(hook.requests) == 1  # delivered once


def test_failing_webhook_is_retried_by_the_outbox(world, hook, webhook_supplier):
    hook.status = 503
    _ticket, _esc = escalate(world, webhook_supplier)
    deliver_events()
    event = OutboxEvent.objects.get(topic="supplier.escalated")
    assert event.processed_at is None and "supplier-webhook" in event.last_error
    assert not OutboxDelivery.objects.filter(event=event, subscriber="supplier-webhook").exists()
    assert "X-Kapula-Signature" not in hook.requests[0][0]  # no secret configured
    hook.status = 200
    OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    deliver_events()
    event.refresh_from_db()
    assert event.processed_at is not None and len(hook.requests) == 2
    assert json.loads(hook.requests[1][1])["event_id"] == event.pk


def test_a_later_message_is_posted_too(world, hook, webhook_supplier):
    ticket, esc = escalate(world, webhook_supplier)
    deliver_events()
    assert esc.engagement is not None
    S.message_supplier(actor=world.lead, engagement=esc.engagement, body="Lisätietoa: sw-3")
    deliver_events()
    assert len(hook.requests) == 2
    data = json.loads(hook.requests[1][1])
    assert data["event"] == "supplier.message" and data["message"] == "Lisätietoa: sw-3"
    assert data["ticket"]["number"] == ticket.number
