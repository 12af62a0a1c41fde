"""automatic_kind and parse_bounce on the corpus."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest

from kapula.intake.mail.classify import automatic_kind, parse_bounce
from kapula.intake.mail.parse import parse_email

SAMPLES = Path(__file__).parent / "samples"
ORIGINAL_ID = "<kapula.123.abc@tre.example.fi>"
TICKET = "TRE-2026-000042"


def raw(name: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes()


def message(name: str) -> Message:
    return BytesParser(policy=compat32).parsebytes(raw(name))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("oof_fi_exchange", "auto_replied"),
        ("oof_sv_exchange", "auto_replied"),
        ("oof_en_exchange", "auto_replied"),
        ("gmail_vacation", "auto_replied"),
        ("newsletter_list", "list"),
        ("bulk_precedence", "bulk"),
        ("auto_generated_notice", "auto_generated"),
        ("plain_fi_utf8", ""),
        ("outlook_fi_html_reply", ""),  # X-Auto-Response-Suppress alone is not automatic
        ("human_undeliverable", ""),
        ("gmail_reply_fi", ""),
    ],
)
def test_automatic_kind(name: str, kind: str) -> None:
    parsed = parse_email(raw(name))
    assert parsed.auto_kind == kind
    assert bool(parsed.auto_reply) == bool(kind)
    assert parsed.bounce is None


def test_automatic_kind_direct() -> None:
    msg = Message()
    msg["Auto-Submitted"] = "no"
    assert automatic_kind(msg, "a@example.fi", "Hello") == ("", "")
    msg = Message()
    msg["List-Unsubscribe"] = "<mailto:u@x>"
    assert automatic_kind(msg, "shop@example.com", "Tilausvahvistus")[0] == "bulk"
    msg = Message()
    msg["List-Id"] = "<x.lists.example.org>"
    msg["List-Unsubscribe"] = "<mailto:u@x>"
    assert automatic_kind(msg, "x@lists.example.org", "Digest")[0] == "list"
    for subject in ("Poissa toimistolta: asia", "Frånvaro: x", "Abwesenheitsnotiz: x",
                    "Out of Office: x", "Automatic reply: x"):
        assert automatic_kind(Message(), "a@example.fi", subject)[0] == "auto_replied"


@pytest.mark.parametrize(
    ("name", "recipients", "status", "permanent"),
    [
        ("bounce_postfix", ["ei.ole@kunta.example.fi"], "5.1.1", True),
        ("bounce_exim", ["ville.virhe@kunta.example.fi"], "5.1.1", True),
        ("bounce_o365", ["poistunut@kunta.example.fi"], "5.1.10", True),
        ("bounce_gmail", ["ei.ole.olemassa@gmail.com"], "5.1.1", True),
        ("bounce_qmail", ["asiakas@vanha.example.net"], "5.1.1", True),
        ("bounce_delayed", ["hidas@hidas.example.org"], "4.4.1", False),
    ],
)
def test_bounces(name: str, recipients: list[str], status: str, permanent: bool) -> None:
    parsed = parse_email(raw(name))
    bounce = parsed.bounce
    assert bounce is not None
    assert bounce.original_message_id == ORIGINAL_ID
    assert bounce.original_headers["X-Kapula-Ticket"] == TICKET
    assert bounce.original_subject == "[TRE-2026-000042] Tulostin ei toimi"
    assert bounce.recipients == recipients
    assert bounce.status == status
    assert bounce.permanent is permanent
    assert bounce.diagnostic and len(bounce.diagnostic) <= 500
    assert not parsed.forwarded
    assert parsed.attachments == []  # the returned original's attachments are not collected
    assert parsed.auto_kind == "auto_generated"
    assert parse_bounce(message(name)) == bounce


def test_bounce_diagnostics() -> None:
    assert "User unknown" in (parse_email(raw("bounce_postfix")).bounce or _no()).diagnostic
    assert "RecipientNotFound" in (parse_email(raw("bounce_o365")).bounce or _no()).diagnostic
    assert "550" in (parse_email(raw("bounce_exim")).bounce or _no()).diagnostic
    kapula_message = (parse_email(raw("bounce_postfix")).bounce or _no()).original_headers
    assert kapula_message["X-Kapula-Message"] == "123"


def _no():  # type: ignore[no-untyped-def]
    raise AssertionError("expected a bounce")


def test_bounce_text_stays_readable() -> None:
    parsed = parse_email(raw("bounce_postfix"))
    assert "could not\nbe delivered" in parsed.text
    assert "huoltomies" not in parsed.text  # the returned original is not shown as content


@pytest.mark.parametrize(
    "name", ["human_undeliverable", "plain_en_utf8", "oof_fi_exchange", "newsletter_list"]
)
def test_not_bounces(name: str) -> None:
    assert parse_bounce(message(name)) is None


def test_undeliverable_subject_from_a_person_is_not_a_bounce() -> None:
    text = raw("bounce_exim").replace(
        b"From: Mail Delivery System <Mailer-Daemon@relay.kunta.example.fi>",
        b"From: Matti <matti@example.fi>",
    ).replace(b"Return-path: <>", b"Return-path: <matti@example.fi>")
    assert parse_email(text).bounce is None
